//! A patient's profile: the patient, their doctor and caregiver, and their prescriptions newest
//! first. Two queries: one join for the patient with doctor and caregiver, one for prescriptions.

use entity::prelude::{Caregiver, Doctor, Patient, Prescription};
use entity::{caregiver, doctor, patient, prescription};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// Everything a patient may see about themselves. Holds no token; the password hash stays in
/// `patient` only for the service's use and is never serialised by the API.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The patient row.
    pub patient: patient::Model,
    /// The assigned doctor, if any.
    pub doctor: Option<doctor::Model>,
    /// The assigned caregiver, if any.
    pub caregiver: Option<caregiver::Model>,
    /// Prescriptions, newest `start_date` first.
    pub prescriptions: Vec<prescription::Model>,
}

impl Profile {
    /// The profile of a patient who has just registered: nothing assigned yet.
    pub fn new_patient(patient: patient::Model) -> Self {
        Self {
            patient,
            doctor: None,
            caregiver: None,
            prescriptions: Vec::new(),
        }
    }
}

/// Loads a patient's profile; `None` when the patient does not exist.
pub async fn load<C: ConnectionTrait>(db: &C, patient_id: i32) -> Result<Option<Profile>, DbErr> {
    let Some((patient, doctor, caregiver)) = Patient::find_by_id(patient_id)
        .find_also_related(Doctor)
        .find_also_related(Caregiver)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let prescriptions = Prescription::find()
        .filter(prescription::Column::PatientId.eq(patient_id))
        .order_by_desc(prescription::Column::StartDate)
        .order_by_desc(prescription::Column::PrescriptionId)
        .all(db)
        .await?;
    Ok(Some(Profile {
        patient,
        doctor,
        caregiver,
        prescriptions,
    }))
}
