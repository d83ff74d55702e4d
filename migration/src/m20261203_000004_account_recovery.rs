//! Account recovery and email verification: `patients.email_verified`, the mailed single-use
//! tokens (`account_tokens`) and the mail outbox (`mail_outbox`).

use sea_orm_migration::prelude::*;

use crate::columns::{index, table_options, utc_now, utc_timestamp};

/// Adds `patients.email_verified` and creates `account_tokens` and `mail_outbox`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    PatientId,
    EmailVerified,
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    TokenHash,
    PatientId,
    Purpose,
    Email,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    MailId,
    PatientId,
    Kind,
    Recipient,
    Message,
    CreatedAt,
    SendAfter,
    ExpiresAt,
    Attempts,
    ClaimedBy,
    ClaimedUntil,
    SentAt,
    FailedAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        // Every existing row (a Flask-era account included) starts unverified.
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .add_column(
                        ColumnDef::new(Patients::EmailVerified)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;

        let mut tokens = Table::create();
        tokens
            .table(AccountTokens::Table)
            .col(
                ColumnDef::new(AccountTokens::TokenHash)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(AccountTokens::PatientId)
                    .integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(AccountTokens::Purpose)
                    .string_len(24)
                    .not_null(),
            )
            .col(
                ColumnDef::new(AccountTokens::Email)
                    .string_len(254)
                    .not_null(),
            )
            .col(utc_now(backend, AccountTokens::CreatedAt))
            .col(utc_timestamp(backend, AccountTokens::ExpiresAt).not_null())
            .foreign_key(
                ForeignKey::create()
                    .name("fk_account_tokens_patient")
                    .from(AccountTokens::Table, AccountTokens::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut tokens);
        manager.create_table(tokens).await?;
        manager
            .create_index(index(
                "ix_account_tokens_patient_purpose",
                AccountTokens::Table,
                &["patient_id", "purpose"],
            ))
            .await?;

        let mut outbox = Table::create();
        outbox
            .table(MailOutbox::Table)
            .col(
                ColumnDef::new(MailOutbox::MailId)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(MailOutbox::PatientId).integer())
            .col(ColumnDef::new(MailOutbox::Kind).string_len(32).not_null())
            .col(
                ColumnDef::new(MailOutbox::Recipient)
                    .string_len(254)
                    .not_null(),
            )
            .col(ColumnDef::new(MailOutbox::Message).text())
            .col(utc_now(backend, MailOutbox::CreatedAt))
            .col(utc_timestamp(backend, MailOutbox::SendAfter).not_null())
            .col(utc_timestamp(backend, MailOutbox::ExpiresAt).not_null())
            .col(
                ColumnDef::new(MailOutbox::Attempts)
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(ColumnDef::new(MailOutbox::ClaimedBy).string_len(36))
            .col(utc_timestamp(backend, MailOutbox::ClaimedUntil))
            .col(utc_timestamp(backend, MailOutbox::SentAt))
            .col(utc_timestamp(backend, MailOutbox::FailedAt))
            .col(ColumnDef::new(MailOutbox::LastError).string_len(255))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_mail_outbox_patient")
                    .from(MailOutbox::Table, MailOutbox::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut outbox);
        manager.create_table(outbox).await?;
        manager
            .create_index(index(
                "ix_mail_outbox_send_after",
                MailOutbox::Table,
                &["send_after"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailOutbox::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AccountTokens::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Patients::Table)
                    .drop_column(Patients::EmailVerified)
                    .to_owned(),
            )
            .await
    }
}
