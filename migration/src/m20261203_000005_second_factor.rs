//! The second factor: a patient's authenticator-app secret (sealed), their recovery codes (keyed
//! hashes), the short-lived challenges of a login's second step, and the factors each session
//! was opened with (`auth_sessions.amr`).

use sea_orm_migration::prelude::*;

use crate::columns::{index, table_options, utc_now, utc_timestamp};

/// Creates `mfa_totp`, `mfa_recovery_codes`, `mfa_challenges`; adds `auth_sessions.amr`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    PatientId,
}

#[derive(DeriveIden)]
enum AuthSessions {
    Table,
    Amr,
}

#[derive(DeriveIden)]
enum MfaTotp {
    Table,
    PatientId,
    SecretSealed,
    CreatedAt,
    ConfirmedAt,
    LastStep,
}

#[derive(DeriveIden)]
enum MfaRecoveryCodes {
    Table,
    CodeHash,
    PatientId,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    TokenHash,
    PatientId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

fn patient_fk(
    name: &str,
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Patients::Table, Patients::PatientId)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .alter_table(
                Table::alter()
                    .table(AuthSessions::Table)
                    .add_column(ColumnDef::new(AuthSessions::Amr).string_len(32))
                    .to_owned(),
            )
            .await?;

        let mut totp = Table::create();
        totp.table(MfaTotp::Table)
            .col(
                ColumnDef::new(MfaTotp::PatientId)
                    .integer()
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(MfaTotp::SecretSealed)
                    .string_len(200)
                    .not_null(),
            )
            .col(utc_now(backend, MfaTotp::CreatedAt))
            .col(utc_timestamp(backend, MfaTotp::ConfirmedAt))
            .col(ColumnDef::new(MfaTotp::LastStep).big_integer())
            .foreign_key(&mut patient_fk(
                "fk_mfa_totp_patient",
                MfaTotp::Table,
                MfaTotp::PatientId,
            ));
        table_options(backend, &mut totp);
        manager.create_table(totp).await?;

        let mut codes = Table::create();
        codes
            .table(MfaRecoveryCodes::Table)
            .col(
                ColumnDef::new(MfaRecoveryCodes::CodeHash)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(MfaRecoveryCodes::PatientId)
                    .integer()
                    .not_null(),
            )
            .col(utc_now(backend, MfaRecoveryCodes::CreatedAt))
            .col(utc_timestamp(backend, MfaRecoveryCodes::UsedAt))
            .foreign_key(&mut patient_fk(
                "fk_mfa_recovery_codes_patient",
                MfaRecoveryCodes::Table,
                MfaRecoveryCodes::PatientId,
            ));
        table_options(backend, &mut codes);
        manager.create_table(codes).await?;
        manager
            .create_index(index(
                "ix_mfa_recovery_codes_patient",
                MfaRecoveryCodes::Table,
                &["patient_id"],
            ))
            .await?;

        let mut challenges = Table::create();
        challenges
            .table(MfaChallenges::Table)
            .col(
                ColumnDef::new(MfaChallenges::TokenHash)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(MfaChallenges::PatientId)
                    .integer()
                    .not_null(),
            )
            .col(utc_now(backend, MfaChallenges::CreatedAt))
            .col(utc_timestamp(backend, MfaChallenges::ExpiresAt).not_null())
            .col(utc_timestamp(backend, MfaChallenges::UsedAt))
            .foreign_key(&mut patient_fk(
                "fk_mfa_challenges_patient",
                MfaChallenges::Table,
                MfaChallenges::PatientId,
            ));
        table_options(backend, &mut challenges);
        manager.create_table(challenges).await?;
        manager
            .create_index(index(
                "ix_mfa_challenges_expires",
                MfaChallenges::Table,
                &["expires_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MfaChallenges::Table.into_iden(),
            MfaRecoveryCodes::Table.into_iden(),
            MfaTotp::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AuthSessions::Table)
                    .drop_column(AuthSessions::Amr)
                    .to_owned(),
            )
            .await
    }
}
