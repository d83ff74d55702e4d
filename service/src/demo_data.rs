//! `patient-auth demo-data`: gives one patient a doctor, a caregiver and a few prescriptions, so
//! that a frontend developer sees a full profile at once.

use chrono::{Duration, NaiveDate, Utc};
use entity::{caregiver, doctor, prescription};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, IntoActiveModel, TransactionTrait,
};

use crate::error::ServiceError;
use crate::lookup::patient_by_email;
use crate::profile::{self, Profile};

/// One demo prescription, dated relative to today.
struct DemoPrescription {
    medication: &'static str,
    dosage: &'static str,
    frequency: &'static str,
    started_days_ago: i64,
    ended_days_ago: Option<i64>,
    notes: Option<&'static str>,
}

const DEMO_PRESCRIPTIONS: [DemoPrescription; 3] = [
    DemoPrescription {
        medication: "Metformin",
        dosage: "500 mg",
        frequency: "twice daily",
        started_days_ago: 54,
        ended_days_ago: None,
        notes: Some("Take with meals"),
    },
    DemoPrescription {
        medication: "Atorvastatin",
        dosage: "20 mg",
        frequency: "once daily at night",
        started_days_ago: 30,
        ended_days_ago: None,
        notes: None,
    },
    DemoPrescription {
        medication: "Amoxicillin",
        dosage: "500 mg",
        frequency: "three times daily",
        started_days_ago: 90,
        ended_days_ago: Some(80),
        notes: Some("Finish the course"),
    },
];

/// Adds demo profile data to the patient with `email`, in one transaction. Refuses a patient who
/// already has a doctor, caregiver or prescriptions, so real data is never mixed with demo data.
pub async fn add_demo_profile<C>(db: &C, email: &str) -> Result<Profile, ServiceError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let patient = patient_by_email(db, email)
        .await?
        .ok_or(ServiceError::PatientNotFound)?;
    let existing = profile::load(db, patient.patient_id)
        .await?
        .ok_or(ServiceError::PatientNotFound)?;
    if existing.doctor.is_some()
        || existing.caregiver.is_some()
        || !existing.prescriptions.is_empty()
    {
        return Err(ServiceError::ProfileNotEmpty);
    }

    let now = Utc::now();
    let today = now.date_naive();
    let txn = db.begin().await?;
    let doctor = doctor::ActiveModel {
        full_name: Set("Dr. Sara Hassan".into()),
        specialty: Set(Some("Cardiology".into())),
        email: Set(Some("sara.hassan@clinic.example".into())),
        phone: Set(Some("+20 2 5555 0101".into())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let caregiver = caregiver::ActiveModel {
        full_name: Set("Omar Ali".into()),
        relationship: Set(Some("son".into())),
        email: Set(Some("omar.ali@example.com".into())),
        phone: Set(Some("+20 10 5555 0102".into())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;

    for demo in DEMO_PRESCRIPTIONS {
        prescription::ActiveModel {
            patient_id: Set(patient.patient_id),
            doctor_id: Set(Some(doctor.doctor_id)),
            medication: Set(demo.medication.into()),
            dosage: Set(Some(demo.dosage.into())),
            frequency: Set(Some(demo.frequency.into())),
            start_date: Set(days_before(today, demo.started_days_ago)),
            end_date: Set(demo.ended_days_ago.map(|days| days_before(today, days))),
            notes: Set(demo.notes.map(Into::into)),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }

    let patient_id = patient.patient_id;
    let mut assigned = patient.into_active_model();
    assigned.doctor_id = Set(Some(doctor.doctor_id));
    assigned.caregiver_id = Set(Some(caregiver.caregiver_id));
    assigned.updated_at = Set(now);
    assigned.update(&txn).await?;
    txn.commit().await?;

    profile::load(db, patient_id)
        .await?
        .ok_or(ServiceError::PatientNotFound)
}

fn days_before(day: NaiveDate, days: i64) -> NaiveDate {
    day - Duration::days(days)
}
