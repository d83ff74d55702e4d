//! The audit trail: one row per action on a patient's account, never updated by the service.

use sea_orm_migration::prelude::*;

use crate::columns::{index, table_options, utc_now};

/// Creates `audit_events`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    AuditEventId,
    OccurredAt,
    PatientId,
    Event,
    Reason,
    SessionId,
    Ip,
    RequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut events = Table::create();
        events
            .table(AuditEvents::Table)
            .col(
                ColumnDef::new(AuditEvents::AuditEventId)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(utc_now(backend, AuditEvents::OccurredAt))
            // No foreign key: the trail must survive the patient's deletion.
            .col(ColumnDef::new(AuditEvents::PatientId).integer())
            .col(ColumnDef::new(AuditEvents::Event).string_len(32).not_null())
            .col(ColumnDef::new(AuditEvents::Reason).string_len(32))
            .col(ColumnDef::new(AuditEvents::SessionId).string_len(36))
            .col(ColumnDef::new(AuditEvents::Ip).string_len(45))
            .col(ColumnDef::new(AuditEvents::RequestId).string_len(128));
        table_options(backend, &mut events);
        manager.create_table(events).await?;
        manager
            .create_index(index(
                "ix_audit_events_patient_occurred",
                AuditEvents::Table,
                &["patient_id", "occurred_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
