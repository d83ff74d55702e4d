//! The service's own tables: sessions (revocation that survives restarts and is seen by every
//! instance) and the refresh tokens issued for them.

use sea_orm_migration::prelude::*;

use crate::columns::{index, table_options, utc_now, utc_timestamp};

/// Creates `auth_sessions` and `refresh_tokens`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuthSessions {
    Table,
    SessionId,
    PatientId,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
    RevokedReason,
    UserAgent,
    Ip,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    SessionId,
    IssuedAt,
    ExpiresAt,
    ConsumedAt,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    PatientId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        let mut sessions = Table::create();
        sessions
            .table(AuthSessions::Table)
            .col(
                ColumnDef::new(AuthSessions::SessionId)
                    .string_len(36)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(AuthSessions::PatientId).integer().not_null())
            .col(utc_now(backend, AuthSessions::CreatedAt))
            .col(utc_now(backend, AuthSessions::LastUsedAt))
            .col(utc_timestamp(backend, AuthSessions::ExpiresAt).not_null())
            .col(utc_timestamp(backend, AuthSessions::RevokedAt))
            .col(ColumnDef::new(AuthSessions::RevokedReason).string_len(32))
            .col(ColumnDef::new(AuthSessions::UserAgent).string_len(512))
            .col(ColumnDef::new(AuthSessions::Ip).string_len(45))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_auth_sessions_patient")
                    .from(AuthSessions::Table, AuthSessions::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut sessions);
        manager.create_table(sessions).await?;
        manager
            .create_index(index(
                "ix_auth_sessions_patient",
                AuthSessions::Table,
                &["patient_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_auth_sessions_expires",
                AuthSessions::Table,
                &["expires_at"],
            ))
            .await?;

        let mut tokens = Table::create();
        tokens
            .table(RefreshTokens::Table)
            .col(
                ColumnDef::new(RefreshTokens::TokenHash)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(RefreshTokens::SessionId)
                    .string_len(36)
                    .not_null(),
            )
            .col(utc_now(backend, RefreshTokens::IssuedAt))
            .col(utc_timestamp(backend, RefreshTokens::ExpiresAt).not_null())
            .col(utc_timestamp(backend, RefreshTokens::ConsumedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_refresh_tokens_session")
                    .from(RefreshTokens::Table, RefreshTokens::SessionId)
                    .to(AuthSessions::Table, AuthSessions::SessionId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut tokens);
        manager.create_table(tokens).await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_session",
                RefreshTokens::Table,
                &["session_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuthSessions::Table).to_owned())
            .await
    }
}
