//! RFC 6238 codes (SHA-1, 6 digits, 30 s: what every authenticator app reads from an
//! `otpauth://` URI), checked with one step of skew either way, each step usable once.

use totp_rs::{Algorithm, TOTP};

/// Seconds per code.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// A new random secret.
pub fn new_secret() -> Result<Vec<u8>, getrandom::Error> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret)?;
    Ok(secret)
}

/// The generator for `secret`, labelled `issuer:account` in the app.
fn generator(secret: &[u8], issuer: &str, account: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS as u64,
        secret.to_vec(),
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The `otpauth://totp/…` URI and the base32 secret an app is set up with; `None` if the label
/// cannot be written (a `:` in it).
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Option<(String, String)> {
    let totp = generator(secret, issuer, account)?;
    Some((totp.get_url(), totp.get_secret_base32()))
}

/// The time step `code` is valid for at `now` (seconds since the epoch), allowing one step
/// either way; `None` if it is valid for none.
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = generator(secret, "x", "x")?;
    let step = now.div_euclid(STEP_SECONDS);
    let mut found = None;
    // Every candidate is computed and compared, so the time taken does not say which matched.
    for candidate in [step - 1, step, step + 1] {
        let Ok(at) = u64::try_from(candidate * STEP_SECONDS) else {
            continue;
        };
        let expected = totp.generate(at);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(candidate);
        }
    }
    found
}

/// Byte strings of equal length compared without an early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The code at `time` of a secret written in base32 as [`enrolment`] hands it out: what an
/// authenticator app computes (the tests' stand-in for the phone).
pub fn code_from_base32(secret: &str, time: i64) -> Option<String> {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .ok()?;
    code_at(&bytes, time)
}

/// The code of `secret` at `time` (for tests and the stand-in authenticator).
pub fn code_at(secret: &[u8], time: i64) -> Option<String> {
    let totp = generator(secret, "x", "x")?;
    u64::try_from(time).ok().map(|t| totp.generate(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238() {
        // Appendix B, truncated to six digits.
        assert_eq!(code_at(RFC_SECRET, 59).as_deref(), Some("287082"));
        assert_eq!(
            code_at(RFC_SECRET, 1_111_111_109).as_deref(),
            Some("081804")
        );
        assert_eq!(
            code_at(RFC_SECRET, 2_000_000_000).as_deref(),
            Some("279037")
        );
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let now = 1_800_000_000;
        let step = now / STEP_SECONDS;
        for (offset, expected) in [
            (-60, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = code_at(RFC_SECRET, now + offset).expect("code");
            assert_eq!(matching_step(RFC_SECRET, &code, now), expected, "{offset}");
        }
        for bad in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(matching_step(RFC_SECRET, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let secret = new_secret().expect("random");
        let (uri, base32) = enrolment(&secret, "patient-auth", "ahmed@example.com").expect("uri");
        assert!(
            uri.starts_with("otpauth://totp/patient-auth:ahmed%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={base32}")));
        assert!(uri.contains("issuer=patient-auth"));
        assert_eq!(base32.len(), 32);
    }
}
