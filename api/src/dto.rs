//! Request and response bodies, named as the contract (and the Flask backend) names them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use service::{Profile, TokenGrant};

/// `POST /auth/register`. Every field is optional here so that a missing one is a 422 naming it;
/// a field of the wrong JSON type is a 400.
#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Password.
    pub password: Option<SecretString>,
    /// Optional username.
    pub username: Option<String>,
}

/// `POST /auth/login`: `email` or `username`, and `password`.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Email address.
    pub email: Option<String>,
    /// Username, when no email is given.
    pub username: Option<String>,
    /// Password.
    pub password: Option<SecretString>,
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token of the last token response.
    pub refresh_token: Option<SecretString>,
}

/// `POST /auth/change-password`.
#[derive(Debug, Deserialize)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: Option<SecretString>,
    /// The password to use from now on.
    pub new_password: Option<SecretString>,
}

/// `GET /auth/sessions`.
#[derive(Debug, Serialize)]
pub struct SessionsResponse {
    /// Open sessions, newest first.
    pub sessions: Vec<SessionResponse>,
}

/// One signed-in device.
#[derive(Debug, Serialize)]
pub struct SessionResponse {
    /// Session id (the `sid` of its tokens).
    pub session_id: String,
    /// When the patient signed in.
    #[serde(serialize_with = "utc_seconds")]
    pub created_at: DateTime<Utc>,
    /// Last login, refresh or request (to the quarter hour).
    #[serde(serialize_with = "utc_seconds")]
    pub last_used_at: DateTime<Utc>,
    /// When its refresh token stops working.
    #[serde(serialize_with = "utc_seconds")]
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` it signed in with.
    pub user_agent: Option<String>,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl From<service::SessionInfo> for SessionResponse {
    fn from(info: service::SessionInfo) -> Self {
        let session = info.session;
        Self {
            session_id: session.session_id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.user_agent,
            ip: session.ip,
            current: info.current,
        }
    }
}

/// The token response of register and login.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// JWT access token.
    #[serde(serialize_with = "expose")]
    pub token: SecretString,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until `token` expires.
    pub expires_in: i64,
    /// Opaque refresh token.
    #[serde(serialize_with = "expose")]
    pub refresh_token: SecretString,
    /// The patient's profile.
    pub patient: ProfileResponse,
}

fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl From<TokenGrant> for TokenResponse {
    fn from(grant: TokenGrant) -> Self {
        Self {
            token: grant.access_token,
            token_type: "Bearer",
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token,
            patient: grant.profile.into(),
        }
    }
}

/// A patient's profile: never a password hash, never a token.
#[derive(Debug, Serialize)]
pub struct ProfileResponse {
    /// Patient id.
    pub patient_id: i32,
    /// Username, if any.
    pub username: Option<String>,
    /// Full name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<NaiveDate>,
    /// When the account was created, RFC 3339 UTC with a `Z`.
    #[serde(serialize_with = "utc_seconds")]
    pub created_at: DateTime<Utc>,
    /// Assigned doctor.
    pub doctor: Option<DoctorResponse>,
    /// Assigned caregiver.
    pub caregiver: Option<CaregiverResponse>,
    /// Prescriptions, newest `start_date` first.
    pub prescriptions: Vec<PrescriptionResponse>,
}

/// A doctor as a patient sees them.
#[derive(Debug, Serialize)]
pub struct DoctorResponse {
    /// Doctor id.
    pub doctor_id: i32,
    /// Full name.
    pub name: String,
    /// Specialty.
    pub specialty: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// A caregiver as a patient sees them.
#[derive(Debug, Serialize)]
pub struct CaregiverResponse {
    /// Caregiver id.
    pub caregiver_id: i32,
    /// Full name.
    pub name: String,
    /// Relationship to the patient.
    pub relationship: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// One prescription.
#[derive(Debug, Serialize)]
pub struct PrescriptionResponse {
    /// Prescription id.
    pub prescription_id: i32,
    /// Medication name.
    pub medication: String,
    /// Dosage.
    pub dosage: Option<String>,
    /// How often.
    pub frequency: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub start_date: NaiveDate,
    /// Last day, if any.
    pub end_date: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<String>,
    /// Prescribing doctor.
    pub doctor_id: Option<i32>,
}

/// `{"message": "…"}`.
#[derive(Debug, Serialize)]
pub struct MessageResponse {
    /// What happened.
    pub message: &'static str,
}

/// `{"status": "…"}` of the health checks.
#[derive(Debug, Serialize)]
pub struct StatusResponse {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// As the Flask backend wrote timestamps: `2026-11-24T10:00:00Z`.
fn utc_seconds<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true))
}

impl From<Profile> for ProfileResponse {
    fn from(profile: Profile) -> Self {
        let patient = profile.patient;
        Self {
            patient_id: patient.patient_id,
            username: patient.username,
            name: patient.full_name,
            email: patient.email,
            phone: patient.phone,
            date_of_birth: patient.date_of_birth,
            created_at: patient.created_at,
            doctor: profile.doctor.map(|d| DoctorResponse {
                doctor_id: d.doctor_id,
                name: d.full_name,
                specialty: d.specialty,
                email: d.email,
                phone: d.phone,
            }),
            caregiver: profile.caregiver.map(|c| CaregiverResponse {
                caregiver_id: c.caregiver_id,
                name: c.full_name,
                relationship: c.relationship,
                email: c.email,
                phone: c.phone,
            }),
            prescriptions: profile
                .prescriptions
                .into_iter()
                .map(|p| PrescriptionResponse {
                    prescription_id: p.prescription_id,
                    medication: p.medication,
                    dosage: p.dosage,
                    frequency: p.frequency,
                    start_date: p.start_date,
                    end_date: p.end_date,
                    notes: p.notes,
                    doctor_id: p.doctor_id,
                })
                .collect(),
        }
    }
}
