//! The second factor, in T-SQL.

use sea_orm_migration::prelude::*;

/// Creates `mfa_totp`, `mfa_recovery_codes`, `mfa_challenges`; adds `auth_sessions.amr`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order.
pub const UP: &[&str] = &[
    "ALTER TABLE auth_sessions ADD amr NVARCHAR(32) NULL",
    "CREATE TABLE mfa_totp (
        patient_id INT NOT NULL CONSTRAINT pk_mfa_totp PRIMARY KEY CONSTRAINT fk_mfa_totp_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        secret_sealed NVARCHAR(200) NOT NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_mfa_totp_created_at DEFAULT SYSUTCDATETIME(),
        confirmed_at DATETIMEOFFSET NULL,
        last_step BIGINT NULL
    )",
    "CREATE TABLE mfa_recovery_codes (
        code_hash NVARCHAR(64) NOT NULL CONSTRAINT pk_mfa_recovery_codes PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_mfa_recovery_codes_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_mfa_recovery_codes_created_at DEFAULT SYSUTCDATETIME(),
        used_at DATETIMEOFFSET NULL
    )",
    "CREATE INDEX ix_mfa_recovery_codes_patient ON mfa_recovery_codes (patient_id)",
    "CREATE TABLE mfa_challenges (
        token_hash NVARCHAR(64) NOT NULL CONSTRAINT pk_mfa_challenges PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_mfa_challenges_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_mfa_challenges_created_at DEFAULT SYSUTCDATETIME(),
        expires_at DATETIMEOFFSET NOT NULL,
        used_at DATETIMEOFFSET NULL
    )",
    "CREATE INDEX ix_mfa_challenges_expires ON mfa_challenges (expires_at)",
];

/// The statements of `down`.
pub const DOWN: &[&str] = &[
    "DROP TABLE mfa_challenges",
    "DROP TABLE mfa_recovery_codes",
    "DROP TABLE mfa_totp",
    "ALTER TABLE auth_sessions DROP COLUMN amr",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, DOWN).await
    }
}
