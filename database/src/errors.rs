//! What a database error means, on every engine (SeaORM's `sql_err` knows only its own drivers).

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Whether an error means "cannot reach or use the database now" rather than a bug.
pub fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unavailable(e)
        }
        DbErr::Exec(RuntimeErr::Internal(message))
        | DbErr::Query(RuntimeErr::Internal(message)) => {
            // SQL Server: deadlock victim (1205), lock timeout (1222), database unavailable (942, 4060).
            ["1205", "1222", "942", "4060"]
                .iter()
                .any(|code| message.starts_with(&format!("SQL Server error {code}:")))
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
            // intervention such as shutdown (57P…). SQLite: busy (5) and locked (6) and their
            // extended codes.
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
        // Too many connections, shutdown, lock wait timeout, deadlock, and lost connections.
        .is_some_and(|e| {
            matches!(
                e.number(),
                1040 | 1053 | 1205 | 1213 | 2002 | 2003 | 2006 | 2013
            )
        })
}

/// Whether an error is a unique-constraint violation (a race between two writers).
pub fn is_unique_violation(error: &DbErr) -> bool {
    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return true;
    }
    // SQL Server: 2627 (PRIMARY KEY or UNIQUE constraint), 2601 (unique index).
    matches!(error, DbErr::Exec(RuntimeErr::Internal(m)) | DbErr::Query(RuntimeErr::Internal(m))
        if m.starts_with("SQL Server error 2627:") || m.starts_with("SQL Server error 2601:"))
}

/// The driver's message of a unique violation, which names the index.
pub fn unique_violation_message(error: &DbErr) -> Option<String> {
    match (error.sql_err(), error) {
        (Some(SqlErr::UniqueConstraintViolation(message)), _) => Some(message),
        (_, DbErr::Exec(RuntimeErr::Internal(m)) | DbErr::Query(RuntimeErr::Internal(m)))
            if is_unique_violation(error) =>
        {
            Some(m.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_server_unique_violations_and_outages_are_recognised() {
        let unique = DbErr::Exec(RuntimeErr::Internal("SQL Server error 2601: Cannot insert duplicate key row in object 'dbo.patients' with unique index 'ux_patients_email'.".into()));
        assert!(is_unique_violation(&unique));
        assert!(unique_violation_message(&unique).is_some_and(|m| m.contains("ux_patients_email")));
        assert!(is_unique_violation(&DbErr::Query(RuntimeErr::Internal(
            "SQL Server error 2627: Violation of UNIQUE KEY constraint".into()
        ))));
        assert!(!is_unique_violation(&DbErr::Exec(RuntimeErr::Internal(
            "SQL Server error 547: FOREIGN KEY".into()
        ))));
        assert!(is_unavailable(&DbErr::Conn(RuntimeErr::Internal(
            "SQL Server connection: reset".into()
        ))));
        assert!(is_unavailable(&DbErr::Query(RuntimeErr::Internal(
            "SQL Server error 1205: deadlock victim".into()
        ))));
        assert!(!is_unavailable(&DbErr::Query(RuntimeErr::Internal(
            "SQL Server error 208: Invalid object name".into()
        ))));
    }
}
