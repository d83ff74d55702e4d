//! A patient's profile: the patient, their doctor and caregiver, and their prescriptions newest
//! first, read in one query.

use entity::prelude::{AuthSession, Caregiver, Doctor, Patient, Prescription};
use entity::{auth_session, caregiver, doctor, patient, prescription};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationTrait,
    SelectThree,
};

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
///
/// One round trip: the patient left-joined with doctor, caregiver and prescriptions, one row per
/// prescription (or one row without any), newest `start_date` first.
pub async fn load<C: ConnectionTrait>(db: &C, patient_id: i32) -> Result<Option<Profile>, DbErr> {
    let rows = db
        .query_all(profile_query(patient_id, None).build(db.get_database_backend()))
        .await?;
    read_profile(&rows)
}

/// The session `session_id` of patient `patient_id` (ended or not) with that patient's profile,
/// in the same single query; `None` when there is no such session for that patient.
pub async fn load_with_session<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    session_id: &str,
) -> Result<Option<(auth_session::Model, Profile)>, DbErr> {
    let rows = db
        .query_all(profile_query(patient_id, Some(session_id)).build(db.get_database_backend()))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let session = auth_session::Model::from_query_result(first, SESSION)?;
    Ok(read_profile(&rows)?.map(|profile| (session, profile)))
}

/// The profile query, optionally joined with one session of the patient.
fn profile_query(
    patient_id: i32,
    session_id: Option<&str>,
) -> SelectThree<Patient, Doctor, Caregiver> {
    let mut query = Patient::find_by_id(patient_id)
        .find_also_related(Doctor)
        .find_also_related(Caregiver)
        .join(JoinType::LeftJoin, patient::Relation::Prescription.def());
    for column in prescription::Column::iter() {
        query = query.column_as(
            Expr::col((Prescription, column)),
            format!("{PRESCRIPTION}{}", column.as_str()),
        );
    }
    if let Some(session_id) = session_id {
        query = query
            .join(JoinType::InnerJoin, patient::Relation::AuthSession.def())
            .filter(auth_session::Column::SessionId.eq(session_id));
        for column in auth_session::Column::iter() {
            query = query.column_as(
                Expr::col((AuthSession, column)),
                format!("{SESSION}{}", column.as_str()),
            );
        }
    }
    query
        .order_by_desc(prescription::Column::StartDate)
        .order_by_desc(prescription::Column::PrescriptionId)
}

/// Assembles a profile from the rows of [`profile_query`].
fn read_profile(rows: &[QueryResult]) -> Result<Option<Profile>, DbErr> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let patient = patient::Model::from_query_result(first, PATIENT)?;
    let doctor = optional::<doctor::Model>(first, DOCTOR, doctor::Column::DoctorId.as_str())?;
    let caregiver =
        optional::<caregiver::Model>(first, CAREGIVER, caregiver::Column::CaregiverId.as_str())?;
    let mut prescriptions = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(prescription) = optional::<prescription::Model>(
            row,
            PRESCRIPTION,
            prescription::Column::PrescriptionId.as_str(),
        )? {
            prescriptions.push(prescription);
        }
    }
    Ok(Some(Profile {
        patient,
        doctor,
        caregiver,
        prescriptions,
    }))
}

/// Column prefixes: SeaORM names the three entities of a `SelectThree` A_, B_ and C_; the joined
/// prescriptions get D_ and the session E_.
const PATIENT: &str = "A_";
const DOCTOR: &str = "B_";
const CAREGIVER: &str = "C_";
const PRESCRIPTION: &str = "D_";
const SESSION: &str = "E_";

/// The left-joined model under `prefix`, or `None` when its key is NULL (nothing joined).
fn optional<M: FromQueryResult>(
    row: &QueryResult,
    prefix: &str,
    key: &str,
) -> Result<Option<M>, DbErr> {
    match row.try_get::<Option<i32>>(prefix, key)? {
        Some(_) => M::from_query_result(row, prefix).map(Some),
        None => Ok(None),
    }
}
