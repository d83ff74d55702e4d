//! The audit trail: who did what to which patient's record. Each event is written by the use case
//! it records, in the same transaction as the action, so there is no action without its record.
//!
//! The trail never holds a password, a token, a hash, or the identifier typed at a failed login
//! for an unknown account (people type passwords into the username box).

use chrono::{DateTime, Utc};
use entity::audit_event;
use entity::prelude::{AuditEvent, Patient};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::auth::ClientInfo;
use crate::error::ServiceError;
use crate::lookup::patient_by_email;

/// What happened, as stored in `audit_events.event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A patient registered (and their first session opened).
    Register,
    /// A login opened a session.
    LoginSucceeded,
    /// A login was refused; the reason says why.
    LoginFailed,
    /// The patient ended their session.
    Logout,
    /// The patient ended every session.
    LogoutAll,
    /// A refresh token was exchanged for a new pair.
    Refresh,
    /// A consumed refresh token came back after the grace period; its session was ended.
    RefreshReuseDetected,
    /// The patient changed their password; their other sessions ended.
    PasswordChanged,
    /// A password change was refused: the current password given was wrong.
    PasswordChangeFailed,
    /// The patient ended one session from their session list.
    SessionEnded,
    /// The patient's profile was read.
    ProfileRead,
    /// A reset link was asked for (for an unknown address: no patient, reason `unknown_account`).
    PasswordResetRequested,
    /// The password was set with a reset link; every session ended.
    PasswordReset,
    /// A fresh verification link was asked for.
    EmailVerificationRequested,
    /// The patient followed a verification link.
    EmailVerified,
    /// Authenticator-app codes were turned on.
    MfaEnabled,
    /// Authenticator-app codes were turned off (with the password and a code).
    MfaDisabled,
    /// New recovery codes replaced the old.
    RecoveryCodesRegenerated,
    /// A right password met the second step: an `mfa_token` was issued.
    MfaChallenged,
    /// A second factor was refused.
    MfaFailed,
    /// A recovery code completed a login; every other session ended.
    RecoveryCodeUsed,
    /// An operator removed every second factor of the patient.
    MfaReset,
    /// The patient added a passkey.
    PasskeyAdded,
    /// The patient removed a passkey.
    PasskeyRemoved,
}

impl AuditAction {
    /// The short code stored in the table.
    pub fn code(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Refresh => "refresh",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::PasswordChangeFailed => "password_change_failed",
            Self::SessionEnded => "session_ended",
            Self::ProfileRead => "profile_read",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailVerificationRequested => "email_verification_requested",
            Self::EmailVerified => "email_verified",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::MfaChallenged => "mfa_challenged",
            Self::MfaFailed => "mfa_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::MfaReset => "mfa_reset",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
        }
    }
}

/// Why a login failed, as stored in `audit_events.reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// No account has that email or username (which is not stored).
    UnknownAccount,
    /// The account exists; the password did not match.
    WrongPassword,
    /// The password matched, but the address is unverified and verification is required.
    EmailNotVerified,
    /// A passkey sign-in named no registered passkey.
    UnknownPasskey,
    /// A passkey sign-in's answer was wrong, or the passkey is not set to sign in alone.
    PasskeyRefused,
    /// A passkey signed rightly, but its signature counter did not go up: a copy of the key
    /// may be in use (WebAuthn's "authenticator may be cloned" signal). Also the reason of an
    /// `mfa_failed` event.
    PasskeyCounterWentBack,
}

impl LoginFailure {
    /// The short code stored in the table.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown_account",
            Self::WrongPassword => "wrong_password",
            Self::EmailNotVerified => "email_not_verified",
            Self::UnknownPasskey => "unknown_passkey",
            Self::PasskeyRefused => "passkey_refused",
            Self::PasskeyCounterWentBack => "passkey_counter_went_back",
        }
    }
}

/// One event about to be recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditEntry<'a> {
    action: AuditAction,
    patient_id: Option<i32>,
    session_id: Option<&'a str>,
    reason: Option<&'static str>,
}

impl<'a> AuditEntry<'a> {
    /// `action` on `patient_id`'s account, in session `session_id`.
    pub(crate) fn new(action: AuditAction, patient_id: i32, session_id: &'a str) -> Self {
        Self {
            action,
            patient_id: Some(patient_id),
            session_id: Some(session_id),
            reason: None,
        }
    }

    /// `action` on `patient_id`'s account outside any session (a mailed link was used).
    pub(crate) fn account(action: AuditAction, patient_id: i32) -> Self {
        Self {
            action,
            patient_id: Some(patient_id),
            session_id: None,
            reason: None,
        }
    }

    /// `action` for no known patient, with why (`unknown_account`).
    pub(crate) fn anonymous(action: AuditAction, reason: &'static str) -> Self {
        Self {
            action,
            patient_id: None,
            session_id: None,
            reason: Some(reason),
        }
    }

    /// A refused password change in `session_id`: the current password was wrong.
    pub(crate) fn password_change_failed(patient_id: i32, session_id: &'a str) -> Self {
        Self {
            action: AuditAction::PasswordChangeFailed,
            patient_id: Some(patient_id),
            session_id: Some(session_id),
            reason: Some(LoginFailure::WrongPassword.code()),
        }
    }

    /// The same event, with why it failed.
    pub(crate) fn because(self, failure: LoginFailure) -> Self {
        Self {
            reason: Some(failure.code()),
            ..self
        }
    }

    /// A refused login; `patient_id` is `None` when the account is unknown.
    pub(crate) fn login_failed(patient_id: Option<i32>, failure: LoginFailure) -> Self {
        Self {
            action: AuditAction::LoginFailed,
            patient_id,
            session_id: None,
            reason: Some(failure.code()),
        }
    }
}

/// Appends one event: a single `INSERT`, on whatever connection or transaction the action uses.
pub(crate) async fn record<C: ConnectionTrait>(
    db: &C,
    entry: AuditEntry<'_>,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    AuditEvent::insert(row(entry, client, now))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The row an event is stored as.
pub(crate) fn row(
    entry: AuditEntry<'_>,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        occurred_at: Set(now),
        patient_id: Set(entry.patient_id),
        event: Set(entry.action.code().to_owned()),
        reason: Set(entry.reason.map(str::to_owned)),
        session_id: Set(entry.session_id.map(str::to_owned)),
        ip: Set(client.ip.clone()),
        request_id: Set(client.request_id.clone()),
        ..Default::default()
    }
}

/// How an operator names the patient whose trail they want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientRef {
    /// By `patient_id` (also finds the trail of a deleted patient).
    Id(i32),
    /// By email address (case-insensitive).
    Email(String),
}

impl PatientRef {
    /// A number is an id, anything else an email address.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.parse::<i32>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::Email(text.to_owned()),
        }
    }
}

impl std::fmt::Display for PatientRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::Email(email) => write!(f, "email {email}"),
        }
    }
}

/// A patient's events, newest first, at most `limit`. An id with neither a patient nor any event,
/// or an unknown email, is [`ServiceError::PatientNotFound`].
pub async fn trail<C: ConnectionTrait>(
    db: &C,
    patient: &PatientRef,
    limit: u64,
) -> Result<Vec<audit_event::Model>, ServiceError> {
    let patient_id = match patient {
        PatientRef::Id(id) => *id,
        PatientRef::Email(email) => {
            patient_by_email(db, email)
                .await?
                .ok_or(ServiceError::PatientNotFound)?
                .patient_id
        }
    };
    let events = AuditEvent::find()
        .filter(audit_event::Column::PatientId.eq(patient_id))
        .order_by_desc(audit_event::Column::OccurredAt)
        .order_by_desc(audit_event::Column::AuditEventId)
        .limit(limit)
        .all(db)
        .await?;
    if events.is_empty() && Patient::find_by_id(patient_id).one(db).await?.is_none() {
        return Err(ServiceError::PatientNotFound);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_names_an_id_and_anything_else_an_email() {
        assert_eq!(PatientRef::parse(" 42 "), PatientRef::Id(42));
        assert_eq!(
            PatientRef::parse("a@example.com"),
            PatientRef::Email("a@example.com".into())
        );
        assert_eq!(
            PatientRef::parse("99999999999"),
            PatientRef::Email("99999999999".into())
        );
    }

    #[test]
    fn codes_fit_the_columns() {
        for action in [
            AuditAction::Register,
            AuditAction::LoginSucceeded,
            AuditAction::LoginFailed,
            AuditAction::Logout,
            AuditAction::LogoutAll,
            AuditAction::Refresh,
            AuditAction::RefreshReuseDetected,
            AuditAction::PasswordChanged,
            AuditAction::SessionEnded,
            AuditAction::ProfileRead,
            AuditAction::PasswordResetRequested,
            AuditAction::PasswordReset,
            AuditAction::EmailVerificationRequested,
            AuditAction::EmailVerified,
            AuditAction::MfaEnabled,
            AuditAction::MfaDisabled,
            AuditAction::RecoveryCodesRegenerated,
            AuditAction::MfaChallenged,
            AuditAction::MfaFailed,
            AuditAction::RecoveryCodeUsed,
            AuditAction::MfaReset,
            AuditAction::PasskeyAdded,
            AuditAction::PasskeyRemoved,
        ] {
            assert!(action.code().len() <= 32, "{action:?}");
        }
        for failure in [
            LoginFailure::UnknownAccount,
            LoginFailure::WrongPassword,
            LoginFailure::EmailNotVerified,
            LoginFailure::UnknownPasskey,
            LoginFailure::PasskeyRefused,
            LoginFailure::PasskeyCounterWentBack,
        ] {
            assert!(failure.code().len() <= 32, "{failure:?}");
        }
    }
}
