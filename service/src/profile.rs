//! A patient's profile: the patient, their doctor and caregiver, and their prescriptions newest
//! first, read in one query.
//!
//! This is the query behind every `GET /auth/me`, so it is built once per database engine and
//! reused (only its two values change), selects only what a profile shows, and reads its rows by
//! fixed column names rather than formatting a name for every field of every row.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};

/// A UTC timestamp, as the entities store them.
type DateTimeUtc = DateTime<Utc>;
use entity::prelude::{AuthSession, Caregiver, Doctor, Patient, Prescription};
use entity::{auth_session, caregiver, doctor, patient, prescription};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, TryGetable, Value};

/// Everything a patient may see about themselves. Holds no secret: the password hash is never
/// read for a profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The patient's own details.
    pub patient: PatientDetails,
    /// The assigned doctor, if any.
    pub doctor: Option<doctor::Model>,
    /// The assigned caregiver, if any.
    pub caregiver: Option<caregiver::Model>,
    /// Prescriptions, newest `start_date` first.
    pub prescriptions: Vec<prescription::Model>,
}

/// The columns of a patient that a profile shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDetails {
    /// Primary key.
    pub patient_id: i32,
    /// Optional login name.
    pub username: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Email address (stored lower-case).
    pub email: String,
    /// Whether the patient followed a verification link mailed to `email`.
    pub email_verified: bool,
    /// Phone number, if given.
    pub phone: Option<String>,
    /// Date of birth, if given.
    pub date_of_birth: Option<NaiveDate>,
    /// When the account was created.
    pub created_at: DateTimeUtc,
}

impl From<patient::Model> for PatientDetails {
    fn from(patient: patient::Model) -> Self {
        Self {
            patient_id: patient.patient_id,
            username: patient.username,
            full_name: patient.full_name,
            email: patient.email,
            email_verified: patient.email_verified,
            phone: patient.phone,
            date_of_birth: patient.date_of_birth,
            created_at: patient.created_at,
        }
    }
}

impl Profile {
    /// The profile of a patient who has just registered: nothing assigned yet.
    pub fn new_patient(patient: patient::Model) -> Self {
        Self {
            patient: patient.into(),
            doctor: None,
            caregiver: None,
            prescriptions: Vec::new(),
        }
    }
}

/// What admitting a request needs to know of the session its token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// The patient the session belongs to.
    pub patient_id: i32,
    /// When the session was last used (kept to the quarter hour).
    pub last_used_at: DateTimeUtc,
    /// When the session was ended, if it was.
    pub revoked_at: Option<DateTimeUtc>,
}

impl From<auth_session::Model> for SessionStatus {
    fn from(session: auth_session::Model) -> Self {
        Self {
            patient_id: session.patient_id,
            last_used_at: session.last_used_at,
            revoked_at: session.revoked_at,
        }
    }
}

/// Loads a patient's profile; `None` when the patient does not exist.
///
/// One round trip: the patient left-joined with doctor, caregiver and prescriptions, one row per
/// prescription (or one row without any), newest `start_date` first.
pub async fn load<C: ConnectionTrait>(db: &C, patient_id: i32) -> Result<Option<Profile>, DbErr> {
    let statement = profile_statement(db.get_database_backend(), patient_id, None);
    let rows = db.query_all(statement).await?;
    read_profile(&rows)
}

/// The session `session_id` (ended or not) with the profile of patient `patient_id`, in the same
/// single query; `None` when either does not exist. The session is looked up by its id alone:
/// whose it is, is [`SessionStatus::patient_id`] for the caller to check.
pub async fn load_with_session<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    session_id: &str,
) -> Result<Option<(SessionStatus, Profile)>, DbErr> {
    let statement = profile_statement(db.get_database_backend(), patient_id, Some(session_id));
    let rows = db.query_all(statement).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let session = SessionStatus {
        patient_id: get(first, column::SESSION_PATIENT_ID)?,
        last_used_at: get(first, column::SESSION_LAST_USED_AT)?,
        revoked_at: get(first, column::SESSION_REVOKED_AT)?,
    };
    Ok(read_profile(&rows)?.map(|profile| (session, profile)))
}

/// The profile query for `backend` with its values: the SQL text is rendered once per engine
/// and shape (with or without the session), then reused.
fn profile_statement(backend: DbBackend, patient_id: i32, session_id: Option<&str>) -> Statement {
    static RENDERED: [OnceLock<String>; 6] = [const { OnceLock::new() }; 6];
    let engine = match backend {
        DbBackend::MySql => 0,
        DbBackend::Postgres => 1,
        DbBackend::Sqlite => 2,
    };
    let shape = usize::from(session_id.is_some());
    let sql = RENDERED[engine * 2 + shape].get_or_init(|| {
        let placeholder = session_id.map(|_| "");
        backend.build(&profile_query(0, placeholder)).sql
    });
    // The values in the order the query binds them: the session (in its join), then the patient.
    let values = match session_id {
        Some(session_id) => vec![Value::from(session_id), Value::from(patient_id)],
        None => vec![Value::from(patient_id)],
    };
    Statement::from_sql_and_values(backend, sql.as_str(), values)
}

/// The fixed names of the selected columns (unique across the joined tables).
mod column {
    pub const PATIENT_ID: &str = "p_patient_id";
    pub const PATIENT_USERNAME: &str = "p_username";
    pub const PATIENT_FULL_NAME: &str = "p_full_name";
    pub const PATIENT_EMAIL: &str = "p_email";
    pub const PATIENT_EMAIL_VERIFIED: &str = "p_email_verified";
    pub const PATIENT_PHONE: &str = "p_phone";
    pub const PATIENT_DATE_OF_BIRTH: &str = "p_date_of_birth";
    pub const PATIENT_CREATED_AT: &str = "p_created_at";
    pub const DOCTOR_ID: &str = "d_doctor_id";
    pub const DOCTOR_FULL_NAME: &str = "d_full_name";
    pub const DOCTOR_SPECIALTY: &str = "d_specialty";
    pub const DOCTOR_EMAIL: &str = "d_email";
    pub const DOCTOR_PHONE: &str = "d_phone";
    pub const DOCTOR_CREATED_AT: &str = "d_created_at";
    pub const CAREGIVER_ID: &str = "c_caregiver_id";
    pub const CAREGIVER_FULL_NAME: &str = "c_full_name";
    pub const CAREGIVER_RELATIONSHIP: &str = "c_relationship";
    pub const CAREGIVER_EMAIL: &str = "c_email";
    pub const CAREGIVER_PHONE: &str = "c_phone";
    pub const CAREGIVER_CREATED_AT: &str = "c_created_at";
    pub const PRESCRIPTION_ID: &str = "r_prescription_id";
    pub const PRESCRIPTION_PATIENT_ID: &str = "r_patient_id";
    pub const PRESCRIPTION_DOCTOR_ID: &str = "r_doctor_id";
    pub const PRESCRIPTION_MEDICATION: &str = "r_medication";
    pub const PRESCRIPTION_DOSAGE: &str = "r_dosage";
    pub const PRESCRIPTION_FREQUENCY: &str = "r_frequency";
    pub const PRESCRIPTION_START_DATE: &str = "r_start_date";
    pub const PRESCRIPTION_END_DATE: &str = "r_end_date";
    pub const PRESCRIPTION_NOTES: &str = "r_notes";
    pub const PRESCRIPTION_CREATED_AT: &str = "r_created_at";
    pub const SESSION_PATIENT_ID: &str = "s_patient_id";
    pub const SESSION_LAST_USED_AT: &str = "s_last_used_at";
    pub const SESSION_REVOKED_AT: &str = "s_revoked_at";
}

/// The profile query, optionally joined with one session of the patient.
fn profile_query(patient_id: i32, session_id: Option<&str>) -> SelectStatement {
    use column::*;
    let mut query = Query::select();
    for (col, name) in [
        (patient::Column::PatientId, PATIENT_ID),
        (patient::Column::Username, PATIENT_USERNAME),
        (patient::Column::FullName, PATIENT_FULL_NAME),
        (patient::Column::Email, PATIENT_EMAIL),
        (patient::Column::EmailVerified, PATIENT_EMAIL_VERIFIED),
        (patient::Column::Phone, PATIENT_PHONE),
        (patient::Column::DateOfBirth, PATIENT_DATE_OF_BIRTH),
        (patient::Column::CreatedAt, PATIENT_CREATED_AT),
    ] {
        query.expr_as(Expr::col((Patient, col)), Alias::new(name));
    }
    for (col, name) in [
        (doctor::Column::DoctorId, DOCTOR_ID),
        (doctor::Column::FullName, DOCTOR_FULL_NAME),
        (doctor::Column::Specialty, DOCTOR_SPECIALTY),
        (doctor::Column::Email, DOCTOR_EMAIL),
        (doctor::Column::Phone, DOCTOR_PHONE),
        (doctor::Column::CreatedAt, DOCTOR_CREATED_AT),
    ] {
        query.expr_as(Expr::col((Doctor, col)), Alias::new(name));
    }
    for (col, name) in [
        (caregiver::Column::CaregiverId, CAREGIVER_ID),
        (caregiver::Column::FullName, CAREGIVER_FULL_NAME),
        (caregiver::Column::Relationship, CAREGIVER_RELATIONSHIP),
        (caregiver::Column::Email, CAREGIVER_EMAIL),
        (caregiver::Column::Phone, CAREGIVER_PHONE),
        (caregiver::Column::CreatedAt, CAREGIVER_CREATED_AT),
    ] {
        query.expr_as(Expr::col((Caregiver, col)), Alias::new(name));
    }
    for (col, name) in [
        (prescription::Column::PrescriptionId, PRESCRIPTION_ID),
        (prescription::Column::PatientId, PRESCRIPTION_PATIENT_ID),
        (prescription::Column::DoctorId, PRESCRIPTION_DOCTOR_ID),
        (prescription::Column::Medication, PRESCRIPTION_MEDICATION),
        (prescription::Column::Dosage, PRESCRIPTION_DOSAGE),
        (prescription::Column::Frequency, PRESCRIPTION_FREQUENCY),
        (prescription::Column::StartDate, PRESCRIPTION_START_DATE),
        (prescription::Column::EndDate, PRESCRIPTION_END_DATE),
        (prescription::Column::Notes, PRESCRIPTION_NOTES),
        (prescription::Column::CreatedAt, PRESCRIPTION_CREATED_AT),
    ] {
        query.expr_as(Expr::col((Prescription, col)), Alias::new(name));
    }
    query
        .from(Patient)
        .left_join(
            Doctor,
            Expr::col((Patient, patient::Column::DoctorId))
                .equals((Doctor, doctor::Column::DoctorId)),
        )
        .left_join(
            Caregiver,
            Expr::col((Patient, patient::Column::CaregiverId))
                .equals((Caregiver, caregiver::Column::CaregiverId)),
        )
        .left_join(
            Prescription,
            Expr::col((Patient, patient::Column::PatientId))
                .equals((Prescription, prescription::Column::PatientId)),
        )
        .and_where(Expr::col((Patient, patient::Column::PatientId)).eq(patient_id));
    if let Some(session_id) = session_id {
        for (col, name) in [
            (auth_session::Column::PatientId, SESSION_PATIENT_ID),
            (auth_session::Column::LastUsedAt, SESSION_LAST_USED_AT),
            (auth_session::Column::RevokedAt, SESSION_REVOKED_AT),
        ] {
            query.expr_as(Expr::col((AuthSession, col)), Alias::new(name));
        }
        // Joined by its key alone, not by patient: the planner then has only the primary key to
        // find it by. (Joined on `patient_id` too, PostgreSQL may cache a plan that walks every
        // session of the patient — hundreds for an active one.) The session's owner is checked
        // by the caller.
        query.inner_join(
            AuthSession,
            Expr::col((AuthSession, auth_session::Column::SessionId)).eq(session_id),
        );
    }
    // No ORDER BY: sorting a handful of rows costs PostgreSQL a quarter of this query's CPU
    // (96 -> 72 µs measured with pgbench), and nothing here; `read_profile` sorts them.
    query
}

/// Assembles a profile from the rows of [`profile_query`].
fn read_profile(rows: &[QueryResult]) -> Result<Option<Profile>, DbErr> {
    use column::*;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let patient = PatientDetails {
        patient_id: get(first, PATIENT_ID)?,
        username: get(first, PATIENT_USERNAME)?,
        full_name: get(first, PATIENT_FULL_NAME)?,
        email: get(first, PATIENT_EMAIL)?,
        email_verified: get(first, PATIENT_EMAIL_VERIFIED)?,
        phone: get(first, PATIENT_PHONE)?,
        date_of_birth: get(first, PATIENT_DATE_OF_BIRTH)?,
        created_at: get(first, PATIENT_CREATED_AT)?,
    };
    let doctor = match get::<Option<i32>>(first, DOCTOR_ID)? {
        Some(doctor_id) => Some(doctor::Model {
            doctor_id,
            full_name: get(first, DOCTOR_FULL_NAME)?,
            specialty: get(first, DOCTOR_SPECIALTY)?,
            email: get(first, DOCTOR_EMAIL)?,
            phone: get(first, DOCTOR_PHONE)?,
            created_at: get(first, DOCTOR_CREATED_AT)?,
        }),
        None => None,
    };
    let caregiver = match get::<Option<i32>>(first, CAREGIVER_ID)? {
        Some(caregiver_id) => Some(caregiver::Model {
            caregiver_id,
            full_name: get(first, CAREGIVER_FULL_NAME)?,
            relationship: get(first, CAREGIVER_RELATIONSHIP)?,
            email: get(first, CAREGIVER_EMAIL)?,
            phone: get(first, CAREGIVER_PHONE)?,
            created_at: get(first, CAREGIVER_CREATED_AT)?,
        }),
        None => None,
    };
    let mut prescriptions = Vec::with_capacity(rows.len());
    for row in rows {
        // A patient without prescriptions comes back as one row with NULLs on this side.
        let Some(prescription_id) = get::<Option<i32>>(row, PRESCRIPTION_ID)? else {
            continue;
        };
        prescriptions.push(prescription::Model {
            prescription_id,
            patient_id: get(row, PRESCRIPTION_PATIENT_ID)?,
            doctor_id: get(row, PRESCRIPTION_DOCTOR_ID)?,
            medication: get(row, PRESCRIPTION_MEDICATION)?,
            dosage: get(row, PRESCRIPTION_DOSAGE)?,
            frequency: get(row, PRESCRIPTION_FREQUENCY)?,
            start_date: get(row, PRESCRIPTION_START_DATE)?,
            end_date: get(row, PRESCRIPTION_END_DATE)?,
            notes: get(row, PRESCRIPTION_NOTES)?,
            created_at: get(row, PRESCRIPTION_CREATED_AT)?,
        });
    }
    newest_first(&mut prescriptions);
    Ok(Some(Profile {
        patient,
        doctor,
        caregiver,
        prescriptions,
    }))
}

/// Orders prescriptions by `start_date`, newest first, then by id, newest first.
fn newest_first(prescriptions: &mut [prescription::Model]) {
    prescriptions.sort_unstable_by(|a, b| {
        (b.start_date, b.prescription_id).cmp(&(a.start_date, a.prescription_id))
    });
}

/// One value of `row` by its column name.
fn get<T: TryGetable>(row: &QueryResult, column: &'static str) -> Result<T, DbErr> {
    row.try_get_by(column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reused SQL with fresh values must be exactly what building the query anew gives, on
    /// every engine: this is what keeps the values in the order the text binds them.
    #[test]
    fn a_reused_statement_is_the_freshly_built_one() {
        for backend in [DbBackend::MySql, DbBackend::Postgres, DbBackend::Sqlite] {
            for session_id in [None, Some("0b7f0a1e-session"), Some("")] {
                for patient_id in [1, 42, i32::MAX] {
                    let reused = profile_statement(backend, patient_id, session_id);
                    let fresh = backend.build(&profile_query(patient_id, session_id));
                    assert_eq!(reused.sql, fresh.sql, "{backend:?}");
                    assert_eq!(reused.values, fresh.values, "{backend:?}");
                }
            }
        }
    }

    #[test]
    fn prescriptions_come_newest_first_and_by_id_on_the_same_day() {
        let on = |prescription_id, day: &str| prescription::Model {
            prescription_id,
            patient_id: 1,
            doctor_id: None,
            medication: format!("m{prescription_id}"),
            dosage: None,
            frequency: None,
            start_date: day.parse().expect("date"),
            end_date: None,
            notes: None,
            created_at: DateTime::UNIX_EPOCH,
        };
        let mut prescriptions = vec![
            on(1, "2026-01-08"),
            on(4, "2026-03-01"),
            on(2, "2026-03-01"),
            on(7, "2025-12-31"),
            on(3, "2026-02-15"),
        ];
        newest_first(&mut prescriptions);
        let order: Vec<i32> = prescriptions.iter().map(|p| p.prescription_id).collect();
        assert_eq!(order, [4, 2, 3, 1, 7]);
    }

    #[test]
    fn a_profile_never_selects_the_password_hash() {
        for session_id in [None, Some("s")] {
            let sql = DbBackend::Postgres.build(&profile_query(1, session_id)).sql;
            assert!(!sql.contains("password_hash"), "{sql}");
        }
    }
}
