//! The contract's four tables, in T-SQL.

use sea_orm_migration::prelude::*;

/// Creates `doctors`, `caregivers`, `patients` and `prescriptions`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The statements of `up`, in order (also read by the statement-check tests).
pub const UP: &[&str] = &[
    "CREATE TABLE doctors (
        doctor_id INT IDENTITY(1,1) NOT NULL CONSTRAINT pk_doctors PRIMARY KEY,
        full_name NVARCHAR(100) NOT NULL,
        specialty NVARCHAR(100) NULL,
        email NVARCHAR(254) NULL,
        phone NVARCHAR(30) NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_doctors_created_at DEFAULT SYSUTCDATETIME()
    )",
    "CREATE TABLE caregivers (
        caregiver_id INT IDENTITY(1,1) NOT NULL CONSTRAINT pk_caregivers PRIMARY KEY,
        full_name NVARCHAR(100) NOT NULL,
        relationship NVARCHAR(50) NULL,
        email NVARCHAR(254) NULL,
        phone NVARCHAR(30) NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_caregivers_created_at DEFAULT SYSUTCDATETIME()
    )",
    "CREATE TABLE patients (
        patient_id INT IDENTITY(1,1) NOT NULL CONSTRAINT pk_patients PRIMARY KEY,
        username NVARCHAR(50) NULL,
        full_name NVARCHAR(100) NOT NULL,
        email NVARCHAR(254) NOT NULL,
        password_hash NVARCHAR(255) NOT NULL,
        phone NVARCHAR(30) NULL,
        date_of_birth DATE NULL,
        doctor_id INT NULL CONSTRAINT fk_patients_doctor REFERENCES doctors (doctor_id),
        caregiver_id INT NULL CONSTRAINT fk_patients_caregiver REFERENCES caregivers (caregiver_id),
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_patients_created_at DEFAULT SYSUTCDATETIME(),
        updated_at DATETIMEOFFSET NOT NULL CONSTRAINT df_patients_updated_at DEFAULT SYSUTCDATETIME(),
        email_lower AS LOWER(email) PERSISTED,
        username_lower AS LOWER(username) PERSISTED
    )",
    "CREATE UNIQUE INDEX ux_patients_email ON patients (email_lower)",
    "CREATE UNIQUE INDEX ux_patients_username ON patients (username_lower) WHERE username IS NOT NULL",
    "CREATE INDEX ix_patients_doctor ON patients (doctor_id)",
    "CREATE INDEX ix_patients_caregiver ON patients (caregiver_id)",
    "CREATE TABLE prescriptions (
        prescription_id INT IDENTITY(1,1) NOT NULL CONSTRAINT pk_prescriptions PRIMARY KEY,
        patient_id INT NOT NULL CONSTRAINT fk_prescriptions_patient REFERENCES patients (patient_id) ON DELETE CASCADE,
        doctor_id INT NULL CONSTRAINT fk_prescriptions_doctor REFERENCES doctors (doctor_id),
        medication NVARCHAR(200) NOT NULL,
        dosage NVARCHAR(100) NULL,
        frequency NVARCHAR(100) NULL,
        start_date DATE NOT NULL,
        end_date DATE NULL,
        notes NVARCHAR(MAX) NULL,
        created_at DATETIMEOFFSET NOT NULL CONSTRAINT df_prescriptions_created_at DEFAULT SYSUTCDATETIME()
    )",
    "CREATE INDEX ix_prescriptions_patient_start ON prescriptions (patient_id, start_date)",
    "CREATE INDEX ix_prescriptions_doctor ON prescriptions (doctor_id)",
];

/// The statements of `down`.
pub const DOWN: &[&str] = &[
    // The record of a Flask take-over describes these tables and goes with them.
    "IF OBJECT_ID(N'schema_takeover', N'U') IS NOT NULL DROP TABLE schema_takeover",
    "DROP TABLE prescriptions",
    "DROP TABLE patients",
    "DROP TABLE caregivers",
    "DROP TABLE doctors",
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
