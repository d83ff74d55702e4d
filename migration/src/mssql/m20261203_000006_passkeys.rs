//! Passkeys, in T-SQL.

use sea_orm_migration::prelude::*;

/// Creates `passkeys` and `webauthn_ceremonies`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order.
pub const UP: &[&str] = &[
    "CREATE TABLE passkeys (
        passkey_id NVARCHAR(36) NOT NULL CONSTRAINT pk_passkeys PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_passkeys_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        credential_hash NVARCHAR(64) NOT NULL,
        user_handle NVARCHAR(36) NOT NULL,
        name NVARCHAR(64) NOT NULL,
        passwordless BIT NOT NULL CONSTRAINT df_passkeys_passwordless DEFAULT 0,
        credential NVARCHAR(MAX) NOT NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_passkeys_created_at DEFAULT SYSUTCDATETIME(),
        last_used_at DATETIMEOFFSET NULL
    )",
    "CREATE UNIQUE INDEX ux_passkeys_credential ON passkeys (credential_hash)",
    "CREATE INDEX ix_passkeys_patient ON passkeys (patient_id)",
    "CREATE TABLE webauthn_ceremonies (
        ceremony_hash NVARCHAR(64) NOT NULL CONSTRAINT pk_webauthn_ceremonies PRIMARY KEY,
        patient_id INT NULL CONSTRAINT fk_webauthn_ceremonies_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        purpose NVARCHAR(16) NOT NULL,
        state NVARCHAR(MAX) NOT NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_webauthn_ceremonies_created_at DEFAULT SYSUTCDATETIME(),
        expires_at DATETIMEOFFSET NOT NULL
    )",
    "CREATE INDEX ix_webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at)",
];

/// The statements of `down`.
pub const DOWN: &[&str] = &["DROP TABLE webauthn_ceremonies", "DROP TABLE passkeys"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, DOWN).await
    }
}
