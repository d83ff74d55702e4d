//! The audit trail, in T-SQL.

use sea_orm_migration::prelude::*;

/// Creates `audit_events`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order. `patient_id` has no foreign key on purpose: the trail
/// survives the patient's deletion.
pub const UP: &[&str] = &[
    "CREATE TABLE audit_events (
        audit_event_id BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_audit_events PRIMARY KEY,
        occurred_at DATETIMEOFFSET NOT NULL CONSTRAINT df_audit_events_occurred_at DEFAULT SYSUTCDATETIME(),
        patient_id INT NULL,
        event NVARCHAR(32) NOT NULL,
        reason NVARCHAR(32) NULL,
        session_id NVARCHAR(36) NULL,
        ip NVARCHAR(45) NULL,
        request_id NVARCHAR(128) NULL
    )",
    "CREATE INDEX ix_audit_events_patient_occurred ON audit_events (patient_id, occurred_at)",
];

/// The statements of `down`.
pub const DOWN: &[&str] = &["DROP TABLE audit_events"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::run(manager, DOWN).await
    }
}
