//! Passkeys (WebAuthn): each patient's registered credentials, and the state of a ceremony
//! between its options and the browser's answer (short-lived, single-use).

use sea_orm_migration::prelude::*;

use crate::columns::{index, table_options, utc_now, utc_timestamp};

/// Creates `passkeys` and `webauthn_ceremonies`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Patients {
    Table,
    PatientId,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    PasskeyId,
    PatientId,
    CredentialHash,
    UserHandle,
    Name,
    Passwordless,
    Credential,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    CeremonyHash,
    PatientId,
    Purpose,
    State,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let mut passkeys = Table::create();
        passkeys
            .table(Passkeys::Table)
            .col(
                ColumnDef::new(Passkeys::PasskeyId)
                    .string_len(36)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(Passkeys::PatientId).integer().not_null())
            .col(
                ColumnDef::new(Passkeys::CredentialHash)
                    .string_len(64)
                    .not_null(),
            )
            .col(
                ColumnDef::new(Passkeys::UserHandle)
                    .string_len(36)
                    .not_null(),
            )
            .col(ColumnDef::new(Passkeys::Name).string_len(64).not_null())
            .col(
                ColumnDef::new(Passkeys::Passwordless)
                    .boolean()
                    .not_null()
                    .default(false),
            )
            .col(ColumnDef::new(Passkeys::Credential).text().not_null())
            .col(utc_now(backend, Passkeys::CreatedAt))
            .col(utc_timestamp(backend, Passkeys::LastUsedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_passkeys_patient")
                    .from(Passkeys::Table, Passkeys::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut passkeys);
        manager.create_table(passkeys).await?;
        manager
            .create_index(
                index(
                    "ux_passkeys_credential",
                    Passkeys::Table,
                    &["credential_hash"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_passkeys_patient",
                Passkeys::Table,
                &["patient_id"],
            ))
            .await?;

        let mut ceremonies = Table::create();
        ceremonies
            .table(WebauthnCeremonies::Table)
            .col(
                ColumnDef::new(WebauthnCeremonies::CeremonyHash)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(WebauthnCeremonies::PatientId).integer())
            .col(
                ColumnDef::new(WebauthnCeremonies::Purpose)
                    .string_len(16)
                    .not_null(),
            )
            .col(ColumnDef::new(WebauthnCeremonies::State).text().not_null())
            .col(utc_now(backend, WebauthnCeremonies::CreatedAt))
            .col(utc_timestamp(backend, WebauthnCeremonies::ExpiresAt).not_null())
            .foreign_key(
                ForeignKey::create()
                    .name("fk_webauthn_ceremonies_patient")
                    .from(WebauthnCeremonies::Table, WebauthnCeremonies::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        table_options(backend, &mut ceremonies);
        manager.create_table(ceremonies).await?;
        manager
            .create_index(index(
                "ix_webauthn_ceremonies_expires",
                WebauthnCeremonies::Table,
                &["expires_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebauthnCeremonies::Table.into_iden(),
            Passkeys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
