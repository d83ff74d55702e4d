//! The service's session tables, in T-SQL.

use sea_orm_migration::prelude::*;

/// Creates `auth_sessions` and `refresh_tokens`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order.
pub const UP: &[&str] = &[
    "CREATE TABLE auth_sessions (
        session_id NVARCHAR(36) NOT NULL CONSTRAINT pk_auth_sessions PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_auth_sessions_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_auth_sessions_created_at DEFAULT SYSUTCDATETIME(),
        last_used_at DATETIMEOFFSET NOT NULL CONSTRAINT df_auth_sessions_last_used_at DEFAULT SYSUTCDATETIME(),
        expires_at DATETIMEOFFSET NOT NULL,
        revoked_at DATETIMEOFFSET NULL,
        revoked_reason NVARCHAR(32) NULL,
        user_agent NVARCHAR(512) NULL,
        ip NVARCHAR(45) NULL
    )",
    "CREATE INDEX ix_auth_sessions_patient ON auth_sessions (patient_id)",
    "CREATE INDEX ix_auth_sessions_expires ON auth_sessions (expires_at)",
    "CREATE TABLE refresh_tokens (
        token_hash NVARCHAR(64) NOT NULL CONSTRAINT pk_refresh_tokens PRIMARY KEY,
        session_id NVARCHAR(36) NOT NULL CONSTRAINT fk_refresh_tokens_session REFERENCES auth_sessions (session_id) ON DELETE CASCADE,
        issued_at DATETIMEOFFSET NOT NULL CONSTRAINT df_refresh_tokens_issued_at DEFAULT SYSUTCDATETIME(),
        expires_at DATETIMEOFFSET NOT NULL,
        consumed_at DATETIMEOFFSET NULL
    )",
    "CREATE INDEX ix_refresh_tokens_session ON refresh_tokens (session_id)",
];

/// The statements of `down`.
pub const DOWN: &[&str] = &["DROP TABLE refresh_tokens", "DROP TABLE auth_sessions"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, DOWN).await
    }
}
