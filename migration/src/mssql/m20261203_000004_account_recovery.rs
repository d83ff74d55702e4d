//! Account recovery and email verification, in T-SQL.

use sea_orm_migration::prelude::*;

/// Adds `patients.email_verified` and creates `account_tokens` and `mail_outbox`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order. Every existing patient starts unverified.
pub const UP: &[&str] = &[
    "ALTER TABLE patients ADD email_verified BIT NOT NULL CONSTRAINT df_patients_email_verified DEFAULT 0",
    "CREATE TABLE account_tokens (
        token_hash NVARCHAR(64) NOT NULL CONSTRAINT pk_account_tokens PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_account_tokens_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        purpose NVARCHAR(24) NOT NULL,
        email NVARCHAR(254) NOT NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_account_tokens_created_at DEFAULT SYSUTCDATETIME(),
        expires_at DATETIMEOFFSET NOT NULL
    )",
    "CREATE INDEX ix_account_tokens_patient_purpose ON account_tokens (patient_id, purpose)",
    "CREATE TABLE mail_outbox (
        mail_id BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_mail_outbox PRIMARY KEY,
        patient_id INT NULL CONSTRAINT fk_mail_outbox_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        kind NVARCHAR(32) NOT NULL,
        recipient NVARCHAR(254) NOT NULL,
        message NVARCHAR(MAX) NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_mail_outbox_created_at DEFAULT SYSUTCDATETIME(),
        send_after DATETIMEOFFSET NOT NULL,
        expires_at DATETIMEOFFSET NOT NULL,
        attempts INT NOT NULL CONSTRAINT df_mail_outbox_attempts DEFAULT 0,
        claimed_by NVARCHAR(36) NULL,
        claimed_until DATETIMEOFFSET NULL,
        sent_at DATETIMEOFFSET NULL,
        failed_at DATETIMEOFFSET NULL,
        last_error NVARCHAR(255) NULL
    )",
    "CREATE INDEX ix_mail_outbox_send_after ON mail_outbox (send_after)",
];

/// The statements of `down`. SQL Server drops a column only after its default constraint;
/// Babelfish keeps defaults as column properties (no such object), so it is dropped if it exists.
pub const DOWN: &[&str] = &[
    "DROP TABLE mail_outbox",
    "DROP TABLE account_tokens",
    "IF OBJECT_ID(N'df_patients_email_verified', N'D') IS NOT NULL ALTER TABLE patients DROP CONSTRAINT df_patients_email_verified",
    "ALTER TABLE patients DROP COLUMN email_verified",
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
