//! The service's one error type, in domain words. Mapping to HTTP happens in `api`.

use sea_orm::DbErr;

use crate::validation::FieldErrors;

/// Everything that can go wrong in an authentication or profile operation.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input breaks the rules; says which fields and why.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// Another patient already uses this email address.
    #[error("email already registered")]
    EmailTaken,
    /// Another patient already uses this username.
    #[error("username already taken")]
    UsernameTaken,
    /// Unknown account or wrong password (deliberately the same).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A code, recovery code or passkey answer that is wrong, used, or of another ceremony.
    #[error("second factor rejected")]
    SecondFactorRejected,
    /// A passkey that cannot sign in alone: unknown, a second factor only, or its answer wrong.
    #[error("passkey rejected")]
    PasskeyRejected,
    /// The token is malformed, forged, or names a session or patient that does not exist.
    #[error("invalid token")]
    InvalidToken,
    /// The token's `exp` is past, beyond the leeway.
    #[error("token expired")]
    TokenExpired,
    /// The token's session has ended.
    #[error("token revoked")]
    TokenRevoked,
    /// A password-reset or verification token that is unknown, used, superseded or expired
    /// (deliberately the same).
    #[error("invalid or expired link")]
    InvalidResetToken,
    /// The right password, but the address is not verified and verification is required.
    #[error("email address not verified")]
    EmailNotVerified,
    /// Authenticator-app codes are on already (turn them off first to set up a new app).
    #[error("a second factor is on already")]
    MfaAlreadyEnabled,
    /// No authenticator app is set up (or no factor is on) for this.
    #[error("no second factor is set up")]
    MfaNotSetUp,
    /// The patient has as many passkeys as allowed (remove one first).
    #[error("too many passkeys")]
    TooManyPasskeys,
    /// The passkey is registered already (to this account or another).
    #[error("passkey already registered")]
    PasskeyTaken,
    /// The passkey does not exist or belongs to another patient (deliberately the same).
    #[error("no such passkey")]
    PasskeyNotFound,
    /// The session does not exist or belongs to another patient (deliberately the same).
    #[error("no such session")]
    SessionNotFound,
    /// The patient named by an operator command does not exist.
    #[error("no patient with that email")]
    PatientNotFound,
    /// The patient already has profile data, so demo data would mix with real data.
    #[error("patient already has a doctor, caregiver or prescriptions")]
    ProfileNotEmpty,
    /// The database cannot be reached right now; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// A bug or an unexpected database answer.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbErr> for ServiceError {
    fn from(error: DbErr) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Internal(error.to_string())
        }
    }
}

pub(crate) use database::errors::{is_unavailable, is_unique_violation, unique_violation_message};
