//! Request and response bodies, named as the contract (and the Flask backend) names them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use service::{Profile, TokenGrant};
use utoipa::ToSchema;

/// `POST /auth/register`. A missing or invalid field is a `422` naming it, a field of the wrong
/// JSON type a `400` (so the fields are `Option`s here); unknown fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Full name: 1–100 characters after trimming, any script.
    #[schema(value_type = String, required = true, example = "Ahmed Ali")]
    pub name: Option<String>,
    /// Email address, at most 254 characters; stored trimmed and lower-cased, unique in any case.
    #[schema(value_type = String, required = true, format = Email, example = "ahmed@example.com")]
    pub email: Option<String>,
    /// 8–128 characters; not one of the 10,000 most common passwords, nor the email or username.
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub password: Option<SecretString>,
    /// Optional username: 3–50 of `A-Z a-z 0-9 . _ -`, unique in any case.
    #[schema(example = "patient1")]
    pub username: Option<String>,
}

/// `POST /auth/login`: `email` or `username`, and `password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Email address (this or `username` is required; `email` wins when both are given).
    #[schema(example = "ahmed@example.com")]
    pub email: Option<String>,
    /// Username, when no email is given.
    #[schema(example = "patient1")]
    pub username: Option<String>,
    /// Password.
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub password: Option<SecretString>,
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the last token response (it works once).
    #[schema(value_type = String, required = true)]
    pub refresh_token: Option<SecretString>,
}

/// `POST /auth/change-password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password in use now.
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub current_password: Option<SecretString>,
    /// The password to use from now on (the registration rules apply).
    #[schema(value_type = String, required = true, format = Password, example = "a-new-secret-pass")]
    pub new_password: Option<SecretString>,
}

/// `POST /auth/password-reset/request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// The address of the account (whether it has one is never told).
    #[schema(value_type = String, required = true, format = Email, example = "ahmed@example.com")]
    pub email: Option<String>,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirmRequest {
    /// The token from the mailed link's fragment (`#token=…`); it works once.
    #[schema(value_type = String, required = true, example = "Qm9vdHN0cmFwLXJlc2V0LXRva2VuLWV4YW1wbGUtMDE")]
    pub token: Option<SecretString>,
    /// The password to use from now on (the registration rules apply).
    #[schema(value_type = String, required = true, format = Password, example = "a-new-secret-pass")]
    pub new_password: Option<SecretString>,
}

/// `POST /auth/verify-email`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the mailed link's fragment (`#token=…`); it works once.
    #[schema(value_type = String, required = true, example = "VmVyaWZ5LWVtYWlsLXRva2VuLWV4YW1wbGUtMDAwMDE")]
    pub token: Option<SecretString>,
}

/// The answer of a login (or a password reset) with a second factor on: no tokens yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredResponse {
    /// Always `true`.
    #[schema(value_type = bool, example = true)]
    pub mfa_required: bool,
    /// For `POST /auth/mfa/verify` only: 5 minutes, once, and no access token anywhere.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "Zk1mQS10b2tlbi1leGFtcGxlLTAwMDAwMDAwMDAwMDE")]
    pub mfa_token: SecretString,
    /// What completes it.
    #[schema(value_type = Vec<String>, example = json!(["totp", "recovery_code"]))]
    pub methods: Vec<&'static str>,
}

impl From<service::SecondFactorChallenge> for MfaRequiredResponse {
    fn from(challenge: service::SecondFactorChallenge) -> Self {
        Self {
            mfa_required: true,
            mfa_token: challenge.mfa_token,
            methods: challenge.methods,
        }
    }
}

/// A login's answer: the token response, or the second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    /// Signed in.
    Tokens(Box<TokenResponse>),
    /// A second factor is needed.
    SecondFactor(MfaRequiredResponse),
}

/// `POST /auth/mfa/verify`: the `mfa_token` and one factor.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaVerifyRequest {
    /// From the login's answer.
    #[schema(value_type = String, required = true)]
    pub mfa_token: Option<SecretString>,
    /// Six digits of the authenticator app (exactly one of this, `recovery_code` and `passkey`).
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    /// One of the recovery codes (ends every other session).
    #[schema(value_type = Option<String>, example = "abcde-fghjk")]
    pub recovery_code: Option<SecretString>,
    /// A passkey's answer to `POST /auth/mfa/passkey/options`.
    pub passkey: Option<PasskeyAssertionBody>,
}

/// `POST /auth/mfa/totp/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpConfirmRequest {
    /// Six digits the app shows now.
    #[schema(value_type = String, required = true, example = "123456")]
    pub code: Option<SecretString>,
}

/// `POST /auth/mfa/totp/disable` and `POST /auth/mfa/recovery-codes`: the password and a fresh
/// second factor.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaChangeRequest {
    /// The current password.
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub password: Option<SecretString>,
    /// Six digits of the authenticator app (exactly one of this, `recovery_code` and `passkey`).
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    /// One of the recovery codes.
    #[schema(value_type = Option<String>, example = "abcde-fghjk")]
    pub recovery_code: Option<SecretString>,
    /// A passkey's answer to `POST /auth/passkeys/assertion-options`.
    pub passkey: Option<PasskeyAssertionBody>,
}

/// `POST /auth/mfa/totp/setup`: what the authenticator app is set up with.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupResponse {
    /// The secret, base32, for typing into the app.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: SecretString,
    /// The `otpauth://` URI the QR code holds.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "otpauth://totp/patient-auth:ahmed%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=patient-auth")]
    pub otpauth_uri: SecretString,
    /// The QR code, as SVG made on the server (it holds the secret).
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "<svg xmlns=\"http://www.w3.org/2000/svg\" …></svg>")]
    pub qr_svg: SecretString,
}

/// Ten recovery codes, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesResponse {
    /// Each works once.
    #[serde(serialize_with = "expose_all")]
    #[schema(value_type = Vec<String>, example = json!(["abcde-fghjk", "mnpqr-stuvw"]))]
    pub recovery_codes: Vec<SecretString>,
}

/// `GET /auth/mfa`: the caller's second factors.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusResponse {
    /// Whether authenticator-app codes are on.
    pub totp: bool,
    /// Unused recovery codes.
    #[schema(example = 10)]
    pub recovery_codes_left: u64,
    /// Registered passkeys.
    #[schema(example = 1)]
    pub passkeys: u64,
}

/// A passkey's answer (`navigator.credentials.get()`) to options this server sent.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyAssertionBody {
    /// The `ceremony_token` that came with the options.
    #[schema(value_type = String, required = true)]
    pub ceremony_token: Option<SecretString>,
    /// The `PublicKeyCredential`, as JSON (binary fields base64url): `id`, `rawId`, `type`,
    /// `response` {`authenticatorData`, `clientDataJSON`, `signature`, `userHandle`}.
    #[schema(value_type = HashMap<String, serde_json::Value>, required = true)]
    pub credential: Option<Box<service::webauthn::PublicKeyCredential>>,
}

/// `POST /auth/passkeys/register/options`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyOptionsRequest {
    /// The current password (an access token alone does not add a key to the account).
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub password: Option<SecretString>,
    /// Whether the passkey will also sign in alone, without the password (default `false`:
    /// a second factor only).
    #[schema(example = true)]
    pub passwordless: Option<bool>,
}

/// Options for `navigator.credentials.create()`, and the token of their ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyCreationOptionsResponse {
    /// Send it back with the browser's answer (5 minutes, once).
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "Q2VyZW1vbnktdG9rZW4tZXhhbXBsZS0wMDAwMDAwMDA")]
    pub ceremony_token: SecretString,
    /// `{"publicKey": PublicKeyCredentialCreationOptions}`, binary fields base64url.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub options: service::webauthn::CreationChallengeResponse,
}

/// Options for `navigator.credentials.get()`, and the token of their ceremony.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyRequestOptionsResponse {
    /// Send it back with the browser's answer (5 minutes, once).
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "Q2VyZW1vbnktdG9rZW4tZXhhbXBsZS0wMDAwMDAwMDA")]
    pub ceremony_token: SecretString,
    /// `{"publicKey": PublicKeyCredentialRequestOptions}`, binary fields base64url.
    #[schema(value_type = HashMap<String, serde_json::Value>)]
    pub options: service::webauthn::RequestChallengeResponse,
}

impl From<service::Ceremony<service::webauthn::CreationChallengeResponse>>
    for PasskeyCreationOptionsResponse
{
    fn from(ceremony: service::Ceremony<service::webauthn::CreationChallengeResponse>) -> Self {
        Self {
            ceremony_token: ceremony.ceremony_token,
            options: ceremony.options,
        }
    }
}

impl From<service::Ceremony<service::webauthn::RequestChallengeResponse>>
    for PasskeyRequestOptionsResponse
{
    fn from(ceremony: service::Ceremony<service::webauthn::RequestChallengeResponse>) -> Self {
        Self {
            ceremony_token: ceremony.ceremony_token,
            options: ceremony.options,
        }
    }
}

/// `POST /auth/passkeys/register`: the browser's new credential.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyRegisterRequest {
    /// The `ceremony_token` of the options.
    #[schema(value_type = String, required = true)]
    pub ceremony_token: Option<SecretString>,
    /// A name to tell it apart: 1–64 characters (default "Passkey").
    #[schema(example = "Laptop")]
    pub name: Option<String>,
    /// The `PublicKeyCredential` of `navigator.credentials.create()`, as JSON (binary fields
    /// base64url): `id`, `rawId`, `type`, `response` {`attestationObject`, `clientDataJSON`}.
    #[schema(value_type = HashMap<String, serde_json::Value>, required = true)]
    pub credential: Option<Box<service::webauthn::RegisterPublicKeyCredential>>,
}

/// One of the caller's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyResponse {
    /// Its id (for removing it).
    #[schema(example = "7d0c7f5e-2b1e-4c47-9a51-3f5d8e7b9c10")]
    pub id: String,
    /// The patient's name for it.
    #[schema(example = "Laptop")]
    pub name: String,
    /// Whether it signs in alone (else it is a second factor only).
    pub passwordless: bool,
    /// When it was added.
    #[serde(serialize_with = "utc_seconds")]
    #[schema(example = "2026-12-03T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it last signed in, or `null`.
    #[serde(serialize_with = "utc_seconds_or_null")]
    #[schema(value_type = Option<String>, format = DateTime, required = true, example = "2026-12-03T10:05:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<service::PasskeySummary> for PasskeyResponse {
    fn from(passkey: service::PasskeySummary) -> Self {
        Self {
            id: passkey.id,
            name: passkey.name,
            passwordless: passkey.passwordless,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// `GET /auth/passkeys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeysResponse {
    /// Oldest first.
    pub passkeys: Vec<PasskeyResponse>,
}

/// `POST /auth/passkeys/register`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyAddedResponse {
    /// The new passkey.
    pub passkey: PasskeyResponse,
    /// Ten recovery codes, shown this once, when this is the account's first second factor.
    #[serde(
        serialize_with = "expose_all_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Vec<String>>, example = json!(["abcde-fghjk", "mnpqr-stuvw"]))]
    pub recovery_codes: Option<Vec<SecretString>>,
}

/// `POST /auth/passkeys/remove`: which passkey, the password and a fresh second factor.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyRemoveRequest {
    /// The passkey's `id`.
    #[schema(value_type = String, required = true, example = "7d0c7f5e-2b1e-4c47-9a51-3f5d8e7b9c10")]
    pub passkey_id: Option<String>,
    /// The current password.
    #[schema(value_type = String, required = true, format = Password, example = "secret-pass")]
    pub password: Option<SecretString>,
    /// Six digits of the authenticator app (exactly one of this, `recovery_code` and `passkey`).
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    /// One of the recovery codes.
    #[schema(value_type = Option<String>, example = "abcde-fghjk")]
    pub recovery_code: Option<SecretString>,
    /// A passkey's answer to `POST /auth/passkeys/assertion-options`.
    pub passkey: Option<PasskeyAssertionBody>,
}

/// `POST /auth/mfa/passkey/options`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaPasskeyOptionsRequest {
    /// From the login's answer.
    #[schema(value_type = String, required = true)]
    pub mfa_token: Option<SecretString>,
}

/// `POST /auth/passkeys/login`: a passkey's answer to `POST /auth/passkeys/login/options`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyLoginRequest {
    /// The `ceremony_token` of the options.
    #[schema(value_type = String, required = true)]
    pub ceremony_token: Option<SecretString>,
    /// The `PublicKeyCredential` of `navigator.credentials.get()`, as JSON (binary fields
    /// base64url), with `response.userHandle`.
    #[schema(value_type = HashMap<String, serde_json::Value>, required = true)]
    pub credential: Option<Box<service::webauthn::PublicKeyCredential>>,
}

fn expose_all_or_none<S: Serializer>(
    secrets: &Option<Vec<SecretString>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secrets {
        Some(secrets) => expose_all(secrets, serializer),
        None => serializer.serialize_none(),
    }
}

fn utc_seconds_or_null<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => utc_seconds(at, serializer),
        None => serializer.serialize_none(),
    }
}

fn expose_all<S: Serializer>(secrets: &[SecretString], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(secrets.iter().map(|s| s.expose_secret()))
}

/// `GET /auth/sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsResponse {
    /// Open sessions, newest first.
    pub sessions: Vec<SessionResponse>,
}

/// One signed-in device.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Session id (the `sid` of its tokens).
    #[schema(example = "0f8e1c1e-5d1a-4a55-9d77-1b1f3c0e2a10")]
    pub session_id: String,
    /// When the patient signed in.
    #[serde(serialize_with = "utc_seconds")]
    #[schema(example = "2026-11-24T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Last login, refresh or request (to the quarter hour).
    #[serde(serialize_with = "utc_seconds")]
    #[schema(example = "2026-11-24T10:15:00Z")]
    pub last_used_at: DateTime<Utc>,
    /// When its refresh token stops working.
    #[serde(serialize_with = "utc_seconds")]
    #[schema(example = "2026-12-08T10:15:00Z")]
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` it signed in with.
    #[schema(example = "PatientApp/2.3 (Android 14)")]
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// The address it signed in from.
    #[schema(example = "203.0.113.7")]
    #[schema(required = true)]
    pub ip: Option<String>,
    /// Whether this is the session of the request.
    #[schema(example = true)]
    pub current: bool,
    /// How the patient signed in (RFC 8176): `["pwd"]`, `["pwd", "otp"]`; empty for sessions
    /// from before the second factor existed.
    #[schema(example = json!(["pwd"]))]
    pub amr: Vec<String>,
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
            amr: service::tokens::Amr::from_column(session.amr.as_deref())
                .values()
                .to_vec(),
            ip: session.ip,
            current: info.current,
        }
    }
}

/// The token response of register and login.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")]
    pub token: SecretString,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$", example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until `token` expires.
    #[schema(example = 3600)]
    pub expires_in: i64,
    /// Opaque refresh token (256 random bits, URL-safe base64); it works once.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, example = "q8Xv0l3m2oZb9w1kH7tYp4sRn6cVe5uJ0aGdLfQiBxM")]
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
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    /// Patient id.
    #[schema(example = 1)]
    pub patient_id: i32,
    /// Username, if any.
    #[schema(example = "patient1")]
    #[schema(required = true)]
    pub username: Option<String>,
    /// Full name.
    #[schema(example = "Ahmed Ali")]
    pub name: String,
    /// Email address.
    #[schema(example = "ahmed@example.com")]
    pub email: String,
    /// Whether the patient followed a verification link mailed to `email`.
    #[schema(example = false)]
    pub email_verified: bool,
    /// Phone number.
    #[schema(example = json!(null))]
    #[schema(required = true)]
    pub phone: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[schema(example = json!(null))]
    #[schema(required = true)]
    pub date_of_birth: Option<NaiveDate>,
    /// When the account was created, RFC 3339 UTC with a `Z`.
    #[serde(serialize_with = "utc_seconds")]
    #[schema(example = "2026-11-24T10:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Assigned doctor.
    #[schema(required = true)]
    pub doctor: Option<DoctorResponse>,
    /// Assigned caregiver.
    #[schema(required = true)]
    pub caregiver: Option<CaregiverResponse>,
    /// Prescriptions, newest `start_date` first.
    pub prescriptions: Vec<PrescriptionResponse>,
}

/// A doctor as a patient sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoctorResponse {
    /// Doctor id.
    #[schema(example = 3)]
    pub doctor_id: i32,
    /// Full name.
    #[schema(example = "Dr. Sara Hassan")]
    pub name: String,
    /// Specialty.
    #[schema(example = "Cardiology")]
    #[schema(required = true)]
    pub specialty: Option<String>,
    /// Email address.
    #[schema(required = true)]
    pub email: Option<String>,
    /// Phone number.
    #[schema(required = true)]
    pub phone: Option<String>,
}

/// A caregiver as a patient sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaregiverResponse {
    /// Caregiver id.
    #[schema(example = 5)]
    pub caregiver_id: i32,
    /// Full name.
    #[schema(example = "Omar Ali")]
    pub name: String,
    /// Relationship to the patient.
    #[schema(example = "son")]
    #[schema(required = true)]
    pub relationship: Option<String>,
    /// Email address.
    #[schema(required = true)]
    pub email: Option<String>,
    /// Phone number.
    #[schema(required = true)]
    pub phone: Option<String>,
}

/// One prescription.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrescriptionResponse {
    /// Prescription id.
    #[schema(example = 9)]
    pub prescription_id: i32,
    /// Medication name.
    #[schema(example = "Metformin")]
    pub medication: String,
    /// Dosage.
    #[schema(example = "500 mg")]
    #[schema(required = true)]
    pub dosage: Option<String>,
    /// How often.
    #[schema(example = "twice daily")]
    #[schema(required = true)]
    pub frequency: Option<String>,
    /// First day, `YYYY-MM-DD`.
    #[schema(example = "2026-10-01")]
    pub start_date: NaiveDate,
    /// Last day, if any.
    #[schema(example = json!(null))]
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    /// Notes.
    #[schema(example = json!(null))]
    #[schema(required = true)]
    pub notes: Option<String>,
    /// Prescribing doctor.
    #[schema(example = 3)]
    #[schema(required = true)]
    pub doctor_id: Option<i32>,
}

/// `{"message": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// What happened.
    #[schema(value_type = String, example = "logged out")]
    pub message: &'static str,
}

/// `{"status": "…"}` of the health checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok` or `ready`.
    #[schema(value_type = String, example = "ok")]
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
            email_verified: patient.email_verified,
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
