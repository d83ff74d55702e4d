//! Registration, login, token checks and logout: the authentication use cases.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::patient;
use entity::prelude::Patient;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::SecretString;

use crate::clock::Clock;
use crate::error::{is_unique_violation, ServiceError};
use crate::lookup::{patient_by_email, patient_by_username};
use crate::password::{PasswordHasher, Verification};
use crate::profile::{self, Profile};
use crate::sessions::{self, EndReason};
use crate::tokens::TokenCodec;
use crate::validation::{NewPatient, RegistrationForm};

/// Token and hashing settings.
pub struct AuthConfig {
    /// HMAC key for access tokens.
    pub jwt_secret: SecretString,
    /// `iss` claim written and required.
    pub issuer: String,
    /// `aud` claim written and required.
    pub audience: String,
    /// How long an access token is valid.
    pub access_token_lifetime: Duration,
    /// Clock skew tolerated on `exp`.
    pub leeway: Duration,
    /// How long a session's refresh token is valid.
    pub refresh_token_lifetime: Duration,
    /// Password hashes computed at once (0 = one per core).
    pub hash_concurrency: usize,
}

/// Where a request came from, kept with the session so a patient can recognise their devices.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The `User-Agent` header, shortened and stripped of control characters.
    pub user_agent: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
}

impl ClientInfo {
    /// Longest user agent kept, in characters (the column holds 512).
    const USER_AGENT_MAX: usize = 512;

    /// Client information from raw request data.
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::USER_AGENT_MAX)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        Self { user_agent, ip }
    }
}

/// How a patient names their account at login.
#[derive(Debug, Clone)]
pub enum LoginId {
    /// By email address (case-insensitive).
    Email(String),
    /// By username (case-insensitive).
    Username(String),
}

/// Login input.
#[derive(Debug)]
pub struct Credentials {
    /// Email or username.
    pub login: LoginId,
    /// The password in clear.
    pub password: SecretString,
}

/// What a successful login or registration hands back.
#[derive(Debug)]
pub struct TokenGrant {
    /// The signed access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The session's refresh token (the only copy; only its hash is stored).
    pub refresh_token: SecretString,
    /// The patient's profile.
    pub profile: Profile,
}

/// The patient and session behind a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPatient {
    /// Patient id.
    pub patient_id: i32,
    /// Session id (`sid`).
    pub session_id: String,
}

/// The authentication use cases, with their keys, hasher and clock built once.
pub struct AuthService {
    tokens: TokenCodec,
    passwords: PasswordHasher,
    clock: Arc<dyn Clock>,
    refresh_lifetime: Duration,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Builds the service; computes the dummy hash used for unknown accounts.
    pub fn new(config: AuthConfig, clock: Arc<dyn Clock>) -> Result<Self, ServiceError> {
        Ok(Self {
            tokens: TokenCodec::new(
                &config.jwt_secret,
                &config.issuer,
                &config.audience,
                config.access_token_lifetime,
                config.leeway,
            ),
            passwords: PasswordHasher::new(config.hash_concurrency)?,
            clock,
            refresh_lifetime: config.refresh_token_lifetime,
        })
    }

    /// The password hasher, for operator commands that set passwords.
    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    /// Registers a patient and opens their first session.
    pub async fn register<C>(
        &self,
        db: &C,
        form: RegistrationForm,
        client: ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let new_patient = NewPatient::parse(form).map_err(ServiceError::Validation)?;
        // Checked first so that a taken email does not cost a password hash; the unique indexes
        // still decide races between concurrent registrations.
        ensure_unclaimed(db, &new_patient).await?;
        let password_hash = self.passwords.hash(new_patient.password.clone()).await?;
        let now = self.clock.now();

        let txn = db.begin().await?;
        let patient = insert_patient(&txn, &new_patient, password_hash, now).await?;
        let session = sessions::open(
            &txn,
            patient.patient_id,
            &client,
            now,
            self.refresh_lifetime,
        )
        .await?;
        txn.commit().await?;
        log::info!("patient {} registered", patient.patient_id);
        self.grant(
            patient.patient_id,
            session,
            Profile::new_patient(patient),
            now,
        )
    }

    /// Creates a patient account without opening a session (operator command).
    pub async fn create_patient<C: ConnectionTrait>(
        &self,
        db: &C,
        new_patient: NewPatient,
    ) -> Result<patient::Model, ServiceError> {
        ensure_unclaimed(db, &new_patient).await?;
        let password_hash = self.passwords.hash(new_patient.password.clone()).await?;
        insert_patient(db, &new_patient, password_hash, self.clock.now()).await
    }

    /// Checks credentials and opens a session. Unknown accounts and wrong passwords fail alike.
    pub async fn login<C>(
        &self,
        db: &C,
        credentials: Credentials,
        client: ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient = match &credentials.login {
            LoginId::Email(email) => patient_by_email(db, email).await?,
            LoginId::Username(username) => patient_by_username(db, username).await?,
        };
        let stored_hash = patient.as_ref().map(|p| p.password_hash.clone());
        let verification = self
            .passwords
            .verify(credentials.password.clone(), stored_hash)
            .await?;
        let (Some(patient), Verification::Match { needs_upgrade }) = (patient, verification) else {
            return Err(ServiceError::InvalidCredentials);
        };
        let upgraded_hash = if needs_upgrade {
            Some(self.passwords.hash(credentials.password).await?)
        } else {
            None
        };

        let now = self.clock.now();
        let txn = db.begin().await?;
        if let Some(new_hash) = upgraded_hash {
            // Only replaces the hash that was verified, should a password change race this login.
            Patient::update_many()
                .col_expr(patient::Column::PasswordHash, Expr::value(new_hash))
                .col_expr(patient::Column::UpdatedAt, Expr::value(now))
                .filter(patient::Column::PatientId.eq(patient.patient_id))
                .filter(patient::Column::PasswordHash.eq(patient.password_hash.as_str()))
                .exec(&txn)
                .await?;
            log::info!(
                "patient {}: password hash upgraded to argon2id",
                patient.patient_id
            );
        }
        let session = sessions::open(
            &txn,
            patient.patient_id,
            &client,
            now,
            self.refresh_lifetime,
        )
        .await?;
        txn.commit().await?;

        let profile = profile::load(db, patient.patient_id)
            .await?
            .ok_or(ServiceError::InvalidCredentials)?;
        self.grant(patient.patient_id, session, profile, now)
    }

    /// Checks an access token and its session: one indexed lookup by session id.
    pub async fn authenticate<C: ConnectionTrait>(
        &self,
        db: &C,
        token: &str,
    ) -> Result<AuthenticatedPatient, ServiceError> {
        let claims = self.tokens.decode(token, self.clock.now())?;
        let patient_id: i32 = claims.sub.parse().map_err(|_| ServiceError::InvalidToken)?;
        // A deleted patient's sessions are deleted with them (cascade), so "no session" covers it.
        let session = sessions::find(db, &claims.sid)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        if session.patient_id != patient_id {
            return Err(ServiceError::InvalidToken);
        }
        if session.revoked_at.is_some() {
            return Err(ServiceError::TokenRevoked);
        }
        Ok(AuthenticatedPatient {
            patient_id,
            session_id: session.session_id,
        })
    }

    /// Ends the caller's session: its access and refresh tokens stop working everywhere.
    pub async fn logout<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<(), ServiceError> {
        if sessions::end(db, &who.session_id, EndReason::Logout, self.clock.now()).await? {
            log::info!("patient {} logged out", who.patient_id);
            Ok(())
        } else {
            Err(ServiceError::TokenRevoked)
        }
    }

    /// The caller's profile.
    pub async fn profile<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<Profile, ServiceError> {
        profile::load(db, who.patient_id)
            .await?
            .ok_or(ServiceError::InvalidToken)
    }

    fn grant(
        &self,
        patient_id: i32,
        session: sessions::OpenedSession,
        profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ServiceError> {
        let signed = self.tokens.issue(patient_id, &session.session_id, now)?;
        Ok(TokenGrant {
            access_token: signed.token,
            expires_in: signed.expires_in,
            refresh_token: session.refresh_token,
            profile,
        })
    }
}

/// Fails with the matching conflict when the email or username is already in use.
async fn ensure_unclaimed<C: ConnectionTrait>(
    db: &C,
    new_patient: &NewPatient,
) -> Result<(), ServiceError> {
    if patient_by_email(db, &new_patient.email).await?.is_some() {
        return Err(ServiceError::EmailTaken);
    }
    if let Some(username) = &new_patient.username {
        if patient_by_username(db, username).await?.is_some() {
            return Err(ServiceError::UsernameTaken);
        }
    }
    Ok(())
}

/// Inserts the patient row; a unique-index violation (a concurrent registration won) becomes the
/// matching conflict.
async fn insert_patient<C: ConnectionTrait>(
    db: &C,
    new_patient: &NewPatient,
    password_hash: String,
    now: DateTime<Utc>,
) -> Result<patient::Model, ServiceError> {
    let row = patient::ActiveModel {
        username: Set(new_patient.username.clone()),
        full_name: Set(new_patient.name.clone()),
        email: Set(new_patient.email.clone()),
        password_hash: Set(password_hash),
        phone: Set(None),
        date_of_birth: Set(None),
        doctor_id: Set(None),
        caregiver_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match row.insert(db).await {
        Ok(patient) => Ok(patient),
        Err(error) if is_unique_violation(&error) => Err(conflict_from(&error, new_patient)),
        Err(error) => Err(error.into()),
    }
}

/// Which unique index a violation came from, read from the index name in the driver's message.
fn conflict_from(error: &sea_orm::DbErr, new_patient: &NewPatient) -> ServiceError {
    let Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) = error.sql_err() else {
        return ServiceError::EmailTaken;
    };
    let Some(username) = new_patient.username.as_deref() else {
        return ServiceError::EmailTaken;
    };
    // MySQL quotes the clashing value; remove ours first, so that an email such as
    // "ux_patients_username@example.org" cannot pass for the index name.
    let message = message
        .replace(&new_patient.email, "")
        .replace(username, "");
    if message.contains("ux_patients_username") {
        ServiceError::UsernameTaken
    } else {
        ServiceError::EmailTaken
    }
}
