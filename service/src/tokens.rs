//! Access tokens (HS256 JWTs) and refresh tokens (random strings stored only as a hash).
//!
//! Keys and the validator are built once; `exp` is checked here against the injected clock,
//! with the configured leeway, so that expiry is testable and `token_expired` stays apart from
//! `invalid_token`.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Patient id, as a string (as the Flask tokens had it).
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// Session id.
    pub sid: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// How the patient proved who they are (RFC 8176): `["pwd"]`, `["pwd", "otp"]`. Absent in
    /// tokens issued before the second factor existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// How a patient proved who they are, as RFC 8176 `amr` values, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Amr(Vec<String>);

impl Amr {
    /// A password alone.
    pub fn password() -> Self {
        Self(vec!["pwd".to_owned()])
    }

    /// A password and a one-time code (an authenticator app's, or a recovery code).
    pub fn password_and_otp() -> Self {
        Self(vec!["pwd".to_owned(), "otp".to_owned()])
    }

    /// A password and a passkey (a hardware-bound key) as the second factor.
    pub fn password_and_key() -> Self {
        Self(vec!["pwd".to_owned(), "hwk".to_owned()])
    }

    /// A passkey alone: a hardware-bound key the patient unlocked with a PIN or biometric
    /// (user verification), which is itself more than one factor.
    pub fn passkey() -> Self {
        Self(vec!["hwk".to_owned(), "mfa".to_owned()])
    }

    /// As stored in `auth_sessions.amr`: space separated.
    pub fn column(&self) -> String {
        self.0.join(" ")
    }

    /// From the values of a token's `amr` claim.
    pub fn from_values(values: Vec<String>) -> Self {
        Self(values)
    }

    /// From `auth_sessions.amr` (`None`: a session from before the column existed).
    pub fn from_column(column: Option<&str>) -> Self {
        Self(
            column
                .map(|c| c.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        )
    }

    /// The values.
    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// Signs and checks access tokens.
pub struct TokenCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    lifetime: Duration,
    leeway: Duration,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCodec")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// A freshly signed access token (`Debug` does not show it).
#[derive(Debug)]
pub struct SignedToken {
    /// The compact JWT.
    pub token: SecretString,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl TokenCodec {
    /// A codec for HS256 tokens signed with `secret`.
    pub fn new(
        secret: &SecretString,
        issuer: &str,
        audience: &str,
        lifetime: Duration,
        leeway: Duration,
    ) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.required_spec_claims = ["exp", "iat", "sub", "iss", "aud"]
            .into_iter()
            .map(String::from)
            .collect::<HashSet<_>>();
        // Expiry is checked against the injected clock in `decode`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            lifetime,
            leeway,
        }
    }

    /// Signs an access token for a patient's session.
    pub fn issue(
        &self,
        patient_id: i32,
        session_id: &str,
        amr: &Amr,
        now: DateTime<Utc>,
    ) -> Result<SignedToken, ServiceError> {
        let claims = Claims {
            sub: patient_id.to_string(),
            iat: now.timestamp(),
            exp: (now + self.lifetime).timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: session_id.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            amr: amr.values().to_vec(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing a token: {e}")))?;
        Ok(SignedToken {
            token: SecretString::from(token),
            expires_in: self.lifetime.num_seconds(),
        })
    }

    /// Checks signature, algorithm, issuer, audience and expiry; returns the claims.
    pub fn decode(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ServiceError> {
        // A JWT that large is not one of ours; refuse before parsing it.
        if token.len() > 4096 {
            return Err(ServiceError::InvalidToken);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| ServiceError::InvalidToken)?
            .claims;
        let leeway = self.leeway.num_seconds();
        if claims.exp.saturating_add(leeway) < now.timestamp() {
            return Err(ServiceError::TokenExpired);
        }
        if claims.iat > now.timestamp().saturating_add(leeway) {
            return Err(ServiceError::InvalidToken);
        }
        Ok(claims)
    }
}

/// Whether `presented` can be one of our opaque tokens (refresh, mailed link, `mfa_token`):
/// 1 to `max` characters of unpadded URL-safe base64. Anything else is refused unread.
pub fn is_well_formed_opaque(presented: &str, max: usize) -> bool {
    !presented.is_empty()
        && presented.len() <= max
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new random refresh token (256 bits, URL-safe) and the hash under which it is stored.
pub fn new_refresh_token() -> Result<(SecretString, String), ServiceError> {
    new_opaque_token()
}

/// A new random token (256 bits, URL-safe) and its hex SHA-256, the only form that is stored.
pub fn new_opaque_token() -> Result<(SecretString, String), ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("random source: {e}")))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = refresh_token_hash(&token);
    Ok((SecretString::from(token), hash))
}

/// The stored form of a refresh token: hex SHA-256. A fast hash is enough for 256 random bits.
pub fn refresh_token_hash(token: &str) -> String {
    opaque_token_hash(token)
}

/// The stored form of an opaque token (hex SHA-256).
pub fn opaque_token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Hex SHA-256 of `bytes`: how the tables keep what must be found but not read back.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn codec(secret: &str) -> TokenCodec {
        TokenCodec::new(
            &SecretString::from(secret),
            "patient-auth",
            "patient-app",
            Duration::minutes(60),
            Duration::seconds(30),
        )
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
            .single()
            .expect("valid date")
    }

    #[test]
    fn an_issued_token_decodes_with_all_claims() {
        let codec = codec("a-test-secret-that-is-long-enough-32b");
        let signed = codec
            .issue(7, "sid-1", &Amr::password(), t0())
            .expect("issue");
        assert_eq!(signed.expires_in, 3600);
        assert!(
            !format!("{signed:?}").contains(signed.token.expose_secret()),
            "Debug never shows the token"
        );
        let claims = codec
            .decode(signed.token.expose_secret(), t0())
            .expect("decode");
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.sid, "sid-1");
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(claims.iss, "patient-auth");
        assert_eq!(claims.aud, "patient-app");
        assert_eq!(claims.amr, vec!["pwd".to_owned()]);
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
    }

    #[test]
    fn expiry_honours_the_leeway() {
        let codec = codec("a-test-secret-that-is-long-enough-32b");
        let signed = codec
            .issue(7, "sid", &Amr::password(), t0())
            .expect("issue");
        assert!(codec
            .decode(
                signed.token.expose_secret(),
                t0() + Duration::seconds(3600 + 30)
            )
            .is_ok());
        assert!(matches!(
            codec.decode(
                signed.token.expose_secret(),
                t0() + Duration::seconds(3600 + 31)
            ),
            Err(ServiceError::TokenExpired)
        ));
    }

    #[test]
    fn another_secret_issuer_or_audience_is_invalid() {
        let signed = codec("a-test-secret-that-is-long-enough-32b")
            .issue(7, "sid", &Amr::password(), t0())
            .expect("issue");
        assert!(matches!(
            codec("another-secret-that-is-long-enough-32")
                .decode(signed.token.expose_secret(), t0()),
            Err(ServiceError::InvalidToken)
        ));
        let other_iss = TokenCodec::new(
            &SecretString::from("a-test-secret-that-is-long-enough-32b"),
            "someone-else",
            "patient-app",
            Duration::minutes(60),
            Duration::seconds(30),
        );
        assert!(matches!(
            other_iss.decode(signed.token.expose_secret(), t0()),
            Err(ServiceError::InvalidToken)
        ));
        let other_aud = TokenCodec::new(
            &SecretString::from("a-test-secret-that-is-long-enough-32b"),
            "patient-auth",
            "admin-app",
            Duration::minutes(60),
            Duration::seconds(30),
        );
        assert!(matches!(
            other_aud.decode(signed.token.expose_secret(), t0()),
            Err(ServiceError::InvalidToken)
        ));
    }

    #[test]
    fn a_token_from_the_future_is_invalid() {
        let codec = codec("a-test-secret-that-is-long-enough-32b");
        let signed = codec
            .issue(7, "sid", &Amr::password(), t0() + Duration::minutes(5))
            .expect("issue");
        assert!(matches!(
            codec.decode(signed.token.expose_secret(), t0()),
            Err(ServiceError::InvalidToken)
        ));
    }

    #[test]
    fn refresh_tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_refresh_token().expect("token");
        let (b, _) = new_refresh_token().expect("token");
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        assert_eq!(hash_a, refresh_token_hash(a.expose_secret()));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(a.expose_secret()));
    }
}
