//! The four tables of the contract, shared with the operators' SQL tools.

use sea_orm_migration::prelude::*;

use crate::columns::{create_case_insensitive_unique_index, index, table_options, utc_now};

/// Creates `doctors`, `caregivers`, `patients` and `prescriptions`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Doctors {
    Table,
    DoctorId,
    FullName,
    Specialty,
    Email,
    Phone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Caregivers {
    Table,
    CaregiverId,
    FullName,
    Relationship,
    Email,
    Phone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Patients {
    Table,
    PatientId,
    Username,
    FullName,
    Email,
    PasswordHash,
    Phone,
    DateOfBirth,
    DoctorId,
    CaregiverId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Prescriptions {
    Table,
    PrescriptionId,
    PatientId,
    DoctorId,
    Medication,
    Dosage,
    Frequency,
    StartDate,
    EndDate,
    Notes,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        let mut doctors = Table::create();
        doctors
            .table(Doctors::Table)
            .col(
                ColumnDef::new(Doctors::DoctorId)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(Doctors::FullName).string_len(100).not_null())
            .col(ColumnDef::new(Doctors::Specialty).string_len(100))
            .col(ColumnDef::new(Doctors::Email).string_len(254))
            .col(ColumnDef::new(Doctors::Phone).string_len(30))
            .col(utc_now(backend, Doctors::CreatedAt));
        table_options(backend, &mut doctors);
        manager.create_table(doctors).await?;

        let mut caregivers = Table::create();
        caregivers
            .table(Caregivers::Table)
            .col(
                ColumnDef::new(Caregivers::CaregiverId)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Caregivers::FullName)
                    .string_len(100)
                    .not_null(),
            )
            .col(ColumnDef::new(Caregivers::Relationship).string_len(50))
            .col(ColumnDef::new(Caregivers::Email).string_len(254))
            .col(ColumnDef::new(Caregivers::Phone).string_len(30))
            .col(utc_now(backend, Caregivers::CreatedAt));
        table_options(backend, &mut caregivers);
        manager.create_table(caregivers).await?;

        let mut patients = Table::create();
        patients
            .table(Patients::Table)
            .col(
                ColumnDef::new(Patients::PatientId)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(Patients::Username).string_len(50))
            .col(
                ColumnDef::new(Patients::FullName)
                    .string_len(100)
                    .not_null(),
            )
            .col(ColumnDef::new(Patients::Email).string_len(254).not_null())
            .col(
                ColumnDef::new(Patients::PasswordHash)
                    .string_len(255)
                    .not_null(),
            )
            .col(ColumnDef::new(Patients::Phone).string_len(30))
            .col(ColumnDef::new(Patients::DateOfBirth).date())
            .col(ColumnDef::new(Patients::DoctorId).integer())
            .col(ColumnDef::new(Patients::CaregiverId).integer())
            .col(utc_now(backend, Patients::CreatedAt))
            .col(utc_now(backend, Patients::UpdatedAt))
            // No cascade from doctors or caregivers: a doctor still assigned cannot be deleted by
            // accident, and SQL Server forbids the second cascade path to prescriptions.
            .foreign_key(
                ForeignKey::create()
                    .name("fk_patients_doctor")
                    .from(Patients::Table, Patients::DoctorId)
                    .to(Doctors::Table, Doctors::DoctorId),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_patients_caregiver")
                    .from(Patients::Table, Patients::CaregiverId)
                    .to(Caregivers::Table, Caregivers::CaregiverId),
            );
        table_options(backend, &mut patients);
        manager.create_table(patients).await?;
        create_case_insensitive_unique_index(manager, "ux_patients_email", "patients", "email")
            .await?;
        // NULL usernames do not collide on any of these engines, so "unique where not null" holds.
        create_case_insensitive_unique_index(
            manager,
            "ux_patients_username",
            "patients",
            "username",
        )
        .await?;
        manager
            .create_index(index("ix_patients_doctor", Patients::Table, &["doctor_id"]))
            .await?;
        manager
            .create_index(index(
                "ix_patients_caregiver",
                Patients::Table,
                &["caregiver_id"],
            ))
            .await?;

        let mut prescriptions = Table::create();
        prescriptions
            .table(Prescriptions::Table)
            .col(
                ColumnDef::new(Prescriptions::PrescriptionId)
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Prescriptions::PatientId)
                    .integer()
                    .not_null(),
            )
            .col(ColumnDef::new(Prescriptions::DoctorId).integer())
            .col(
                ColumnDef::new(Prescriptions::Medication)
                    .string_len(200)
                    .not_null(),
            )
            .col(ColumnDef::new(Prescriptions::Dosage).string_len(100))
            .col(ColumnDef::new(Prescriptions::Frequency).string_len(100))
            .col(ColumnDef::new(Prescriptions::StartDate).date().not_null())
            .col(ColumnDef::new(Prescriptions::EndDate).date())
            .col(ColumnDef::new(Prescriptions::Notes).text())
            .col(utc_now(backend, Prescriptions::CreatedAt))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_prescriptions_patient")
                    .from(Prescriptions::Table, Prescriptions::PatientId)
                    .to(Patients::Table, Patients::PatientId)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_prescriptions_doctor")
                    .from(Prescriptions::Table, Prescriptions::DoctorId)
                    .to(Doctors::Table, Doctors::DoctorId),
            );
        table_options(backend, &mut prescriptions);
        manager.create_table(prescriptions).await?;
        // The profile reads a patient's prescriptions newest first.
        manager
            .create_index(index(
                "ix_prescriptions_patient_start",
                Prescriptions::Table,
                &["patient_id", "start_date"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_prescriptions_doctor",
                Prescriptions::Table,
                &["doctor_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The record of a Flask take-over describes these tables and goes with them.
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("schema_takeover"))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        for table in ["prescriptions", "patients", "caregivers", "doctors"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
