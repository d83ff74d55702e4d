//! Account recovery and email verification: the use cases behind the links mailed to a patient.
//!
//! A reset request answers the same, in the same time, whether or not the address has an
//! account; the token and the message carrying it are written in one transaction; using a token
//! deletes it, so it works once.

use chrono::{DateTime, Utc};
use entity::patient;
use entity::prelude::Patient;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};

use crate::account_tokens::{self, Purpose};
use crate::audit::{self, AuditAction, AuditEntry};
use crate::auth::{AuthService, ClientInfo};
use crate::error::ServiceError;
use crate::lookup::patient_by_email;
use crate::mail::Notice;
use crate::profile;
use crate::second_factor::LoginOutcome;
use crate::sessions::{self, EndReason};
use crate::tokens::Amr;
use crate::validation::check_new_password;

/// Recovery and verification settings.
#[derive(Debug, Clone)]
pub struct RecoveryConfig {
    /// How long a reset link works (`PASSWORD_RESET_EXP_MINUTES`).
    pub password_reset_lifetime: chrono::Duration,
    /// How long a verification link works (`EMAIL_VERIFICATION_EXP_HOURS`).
    pub email_verification_lifetime: chrono::Duration,
    /// Refuse logins of unverified addresses (`REQUIRE_VERIFIED_EMAIL`).
    pub require_verified_email: bool,
    /// Every reset request takes at least this long, so that its time says nothing about
    /// whether the address has an account.
    pub reset_request_duration: std::time::Duration,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            password_reset_lifetime: chrono::Duration::minutes(30),
            email_verification_lifetime: chrono::Duration::hours(48),
            require_verified_email: false,
            reset_request_duration: std::time::Duration::from_millis(250),
        }
    }
}

/// How long a "your password was changed" notice is worth delivering.
const NOTICE_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// What asking for a verification link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationRequest {
    /// A new link is on its way; earlier ones no longer work.
    Sent,
    /// The address is verified already; nothing was sent.
    AlreadyVerified,
}

impl AuthService {
    /// `POST /auth/password-reset/request`: mails a reset link if `email` has an account.
    /// Answers alike, after at least the configured time, either way.
    pub async fn request_password_reset<C>(
        &self,
        db: &C,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let started = tokio::time::Instant::now();
        let outcome = self.send_password_reset(db, email, client).await;
        let floor = self.recovery().reset_request_duration;
        // 0 turns the padding off (and this warning with it).
        if !floor.is_zero() && started.elapsed() > floor {
            log::warn!(
                "a password-reset request took {} ms, longer than the {} ms every request is \
                 padded to: raise PASSWORD_RESET_REQUEST_MS, or its time may tell whether the \
                 address has an account",
                started.elapsed().as_millis(),
                floor.as_millis()
            );
        }
        tokio::time::sleep_until(started + floor).await;
        outcome.map(|_| ())
    }

    /// Mails a reset link to `email`'s patient, replacing any earlier link; `false` when no
    /// patient has that address (also recorded, without the address). For operators too.
    pub async fn send_password_reset<C>(
        &self,
        db: &C,
        email: &str,
        client: &ClientInfo,
    ) -> Result<bool, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock().now();
        let Some(patient) = patient_by_email(db, email).await? else {
            let entry =
                AuditEntry::anonymous(AuditAction::PasswordResetRequested, "unknown_account");
            audit::record(db, entry, client, now).await?;
            return Ok(false);
        };
        let txn = db.begin().await?;
        self.mail_link(&txn, &patient, Purpose::PasswordReset, client, now)
            .await?;
        let entry = AuditEntry::account(AuditAction::PasswordResetRequested, patient.patient_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        self.mailer().wake();
        log::info!("patient {}: password-reset link queued", patient.patient_id);
        Ok(true)
    }

    /// `POST /auth/password-reset/confirm`: sets a new password with a reset token, ends every
    /// session of the patient, and opens a new one. A bad token is
    /// [`ServiceError::InvalidResetToken`], whatever is wrong with it; a bad password leaves the
    /// token usable.
    pub async fn confirm_password_reset<C>(
        &self,
        db: &C,
        token: &SecretString,
        new_password: SecretString,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock().now();
        let (held, patient) = self
            .live_token(db, token.expose_secret(), Purpose::PasswordReset, now)
            .await?;
        check_new_password(
            new_password.expose_secret(),
            &[Some(patient.email.as_str()), patient.username.as_deref()],
        )
        .map_err(|errors| ServiceError::Validation(errors.renamed("password", "new_password")))?;
        let new_hash = self.passwords().hash(new_password).await?;

        let now = self.clock().now();
        let txn = db.begin().await?;
        if !account_tokens::consume(&txn, &held.token_hash).await? {
            return Err(ServiceError::InvalidResetToken);
        }
        // Following the link proved the patient reads this mailbox, if it is still theirs (an
        // operator may have changed it since the token was checked).
        let updated = Patient::update_many()
            .col_expr(patient::Column::PasswordHash, Expr::value(new_hash))
            .col_expr(patient::Column::EmailVerified, Expr::value(true))
            .col_expr(patient::Column::UpdatedAt, Expr::value(now))
            .filter(patient::Column::PatientId.eq(patient.patient_id))
            .filter(patient::Column::Email.eq(held.email.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::InvalidResetToken);
        }
        sessions::end_all(
            &txn,
            patient.patient_id,
            None,
            EndReason::PasswordReset,
            now,
        )
        .await?;
        self.queue_notice(
            &txn,
            &patient,
            Notice::PasswordChanged { at: now },
            client,
            now,
        )
        .await?;
        // A mailed link replaces the password, never the second factor.
        if let Some(challenge) = self
            .second_factor_challenge(&txn, patient.patient_id, client, now)
            .await?
        {
            let entry = AuditEntry::account(AuditAction::PasswordReset, patient.patient_id);
            audit::record(&txn, entry, client, now).await?;
            txn.commit().await?;
            self.mailer().wake();
            return Ok(LoginOutcome::SecondFactorRequired(challenge));
        }
        let session = sessions::open(
            &txn,
            patient.patient_id,
            client,
            now,
            self.refresh_lifetime(),
            Amr::password(),
        )
        .await?;
        let entry = AuditEntry::new(
            AuditAction::PasswordReset,
            patient.patient_id,
            &session.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        let profile = profile::load(&txn, patient.patient_id)
            .await?
            .ok_or(ServiceError::InvalidResetToken)?;
        txn.commit().await?;
        self.mailer().wake();
        log::info!(
            "patient {} reset their password; every earlier session ended",
            patient.patient_id
        );
        self.grant(patient.patient_id, session, profile, now)
            .map(|grant| LoginOutcome::Granted(Box::new(grant)))
    }

    /// `POST /auth/verify-email`: marks the address the token was mailed to as verified.
    pub async fn verify_email<C>(
        &self,
        db: &C,
        token: &SecretString,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock().now();
        let (held, patient) = self
            .live_token(db, token.expose_secret(), Purpose::EmailVerification, now)
            .await?;
        let txn = db.begin().await?;
        if !account_tokens::consume(&txn, &held.token_hash).await? {
            return Err(ServiceError::InvalidResetToken);
        }
        Patient::update_many()
            .col_expr(patient::Column::EmailVerified, Expr::value(true))
            .col_expr(patient::Column::UpdatedAt, Expr::value(now))
            .filter(patient::Column::PatientId.eq(patient.patient_id))
            .filter(patient::Column::Email.eq(held.email.as_str()))
            .exec(&txn)
            .await?;
        let entry = AuditEntry::account(AuditAction::EmailVerified, patient.patient_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!(
            "patient {} verified their email address",
            patient.patient_id
        );
        Ok(())
    }

    /// `POST /auth/verify-email/resend`: mails the caller a fresh verification link.
    pub async fn resend_verification<C>(
        &self,
        db: &C,
        who: &crate::auth::AuthenticatedPatient,
        client: &ClientInfo,
    ) -> Result<VerificationRequest, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient = Patient::find_by_id(who.patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        if patient.email_verified {
            return Ok(VerificationRequest::AlreadyVerified);
        }
        let now = self.clock().now();
        let txn = db.begin().await?;
        self.mail_link(&txn, &patient, Purpose::EmailVerification, client, now)
            .await?;
        let entry = AuditEntry::new(
            AuditAction::EmailVerificationRequested,
            patient.patient_id,
            &who.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        self.mailer().wake();
        Ok(VerificationRequest::Sent)
    }

    /// Issues a token for `purpose` (replacing the patient's earlier one) and queues the message
    /// carrying its link, in the caller's transaction: neither exists without the other.
    pub(crate) async fn mail_link<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient: &patient::Model,
        purpose: Purpose,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let lifetime = match purpose {
            Purpose::PasswordReset => self.recovery().password_reset_lifetime,
            Purpose::EmailVerification => self.recovery().email_verification_lifetime,
        };
        let token = account_tokens::issue(
            txn,
            patient.patient_id,
            &patient.email,
            purpose,
            now,
            lifetime,
        )
        .await?;
        let token = token.expose_secret();
        let notice = match purpose {
            Purpose::PasswordReset => Notice::PasswordReset {
                token,
                minutes: lifetime.num_minutes(),
            },
            Purpose::EmailVerification => Notice::EmailVerification {
                token,
                hours: lifetime.num_hours(),
            },
        };
        self.mailer()
            .queue(txn, patient, client.language, &notice, now, now + lifetime)
            .await
    }

    /// Queues a notice (password changed, recovery code used) for the patient, in the caller's
    /// transaction; worth delivering for a week.
    pub(crate) async fn queue_notice<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient: &patient::Model,
        notice: Notice<'_>,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.mailer()
            .queue(
                txn,
                patient,
                client.language,
                &notice,
                now,
                now + NOTICE_LIFETIME,
            )
            .await
    }

    /// The token and its patient, if the token is live and the patient still has the address
    /// it was mailed to; otherwise [`ServiceError::InvalidResetToken`].
    async fn live_token<C: ConnectionTrait>(
        &self,
        db: &C,
        presented: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<(entity::account_token::Model, patient::Model), ServiceError> {
        let held = account_tokens::find(db, presented, purpose, now)
            .await?
            .ok_or(ServiceError::InvalidResetToken)?;
        let patient = Patient::find_by_id(held.patient_id)
            .one(db)
            .await?
            .filter(|patient| patient.email == held.email)
            .ok_or(ServiceError::InvalidResetToken)?;
        Ok((held, patient))
    }
}
