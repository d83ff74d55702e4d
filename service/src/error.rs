//! The service's one error type, in domain words. Mapping to HTTP happens in `api`.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

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
    /// The token is malformed, forged, or names a session or patient that does not exist.
    #[error("invalid token")]
    InvalidToken,
    /// The token's `exp` is past, beyond the leeway.
    #[error("token expired")]
    TokenExpired,
    /// The token's session has ended.
    #[error("token revoked")]
    TokenRevoked,
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

/// Whether a database error means "cannot reach or use the database now" rather than a bug.
pub(crate) fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        _ => false,
    }
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08…), insufficient resources (53…), operator
            // intervention such as shutdown (57P…). SQLite: busy (5) and locked (6).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || matches!(code.as_ref(), "5" | "6" | "517" | "262")
                || mysql_unavailable(db.as_ref())
        }
        _ => false,
    }
}

fn mysql_unavailable(error: &dyn sqlx::error::DatabaseError) -> bool {
    error
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        // Too many connections, server shutdown, lock wait timeout, deadlock-free lock timeouts.
        .is_some_and(|e| {
            matches!(
                e.number(),
                1040 | 1053 | 1205 | 1213 | 2002 | 2003 | 2006 | 2013
            )
        })
}

/// Whether a database error is a unique-constraint violation (a registration race).
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
