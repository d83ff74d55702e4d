//! The second factor: authenticator-app codes, recovery codes and passkeys. With a factor on, a
//! right password gets a short-lived, single-use `mfa_token` instead of tokens, and
//! [`AuthService::complete_login`] trades it, with a factor, for the token response.

use chrono::{DateTime, Duration, Utc};
use entity::prelude::{MfaChallenge, MfaRecoveryCode, MfaTotp, Passkey, Patient, WebauthnCeremony};
use entity::{mfa_challenge, mfa_recovery_code, mfa_totp, passkey, patient, webauthn_ceremony};
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential};

use crate::audit::{self, AuditAction, AuditEntry, LoginFailure};
use crate::auth::{AuthService, AuthenticatedPatient, ClientInfo, TokenGrant};
use crate::error::ServiceError;
use crate::lookup::patient_by_email;
use crate::mail::Notice;
use crate::mfa::ceremony::{self, CeremonyState};
use crate::mfa::{qr, recovery_codes, totp, RelyingParty, SecretBox};
use crate::password::Verification;
use crate::profile;
use crate::sessions::{self, EndReason};
use crate::tokens::{is_well_formed_opaque, new_opaque_token, opaque_token_hash, Amr};

/// Second-factor settings.
#[derive(Debug, Clone)]
pub struct MfaConfig {
    /// Seals TOTP secrets and keys recovery-code hashes (`MFA_ENCRYPTION_KEY`).
    pub secret_box: SecretBox,
    /// The issuer an authenticator app shows.
    pub issuer: String,
    /// How long an `mfa_token` works (5 minutes).
    pub challenge_lifetime: Duration,
    /// Where passkeys work (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGIN`).
    pub relying_party: RelyingParty,
    /// How long a passkey ceremony's options may be answered (5 minutes).
    pub ceremony_lifetime: Duration,
}

/// What checking a second factor found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FactorCheck {
    /// Right and unused; now used up.
    Accepted,
    /// Wrong, used already, or not the patient's.
    Refused,
    /// A passkey's signature was right but its counter did not go up: a copy of the key may be
    /// in use. Refused, and recorded as such.
    CounterWentBack,
}

impl FactorCheck {
    /// Whether the factor was accepted.
    fn accepted(self) -> bool {
        self == Self::Accepted
    }

    /// The `mfa_failed` event for this refusal, with its reason when it has one.
    fn failure(self, entry: AuditEntry<'_>) -> AuditEntry<'_> {
        match self {
            Self::CounterWentBack => entry.because(LoginFailure::PasskeyCounterWentBack),
            Self::Accepted | Self::Refused => entry,
        }
    }
}

impl From<bool> for FactorCheck {
    fn from(accepted: bool) -> Self {
        if accepted {
            Self::Accepted
        } else {
            Self::Refused
        }
    }
}

/// What an authenticator app is set up with.
#[derive(Debug)]
pub struct TotpSetup {
    /// The secret, base32 (for typing in).
    pub secret: SecretString,
    /// `otpauth://totp/…` (what the QR code holds).
    pub otpauth_uri: SecretString,
    /// The QR code, SVG (it holds the secret, so it is kept like one).
    pub qr_svg: SecretString,
}

/// A login whose password was right.
#[derive(Debug)]
pub enum LoginOutcome {
    /// No second factor: signed in.
    Granted(Box<TokenGrant>),
    /// A second factor is needed: `complete_login` with this challenge.
    SecondFactorRequired(SecondFactorChallenge),
}

/// The second step of a login.
#[derive(Debug)]
pub struct SecondFactorChallenge {
    /// The only copy of the `mfa_token` (stored as a hash).
    pub mfa_token: SecretString,
    /// What may complete it: `totp`, `recovery_code`, `webauthn` (a passkey).
    pub methods: Vec<&'static str>,
}

/// A second factor, as typed.
#[derive(Debug)]
pub enum SecondFactorProof {
    /// A six-digit code of the authenticator app.
    Code(SecretString),
    /// One of the recovery codes.
    RecoveryCode(SecretString),
    /// A passkey's answer to the options of a `passkey_assertion_options`.
    Passkey(PasskeyAssertion),
}

/// A passkey's answer (`navigator.credentials.get()`), and the ceremony it answers.
#[derive(Debug)]
pub struct PasskeyAssertion {
    /// The token that came with the options.
    pub ceremony_token: SecretString,
    /// The browser's `PublicKeyCredential`.
    pub credential: Box<PublicKeyCredential>,
}

/// A patient's second factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether authenticator-app codes are on.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u64,
    /// Registered passkeys.
    pub passkeys: u64,
}

/// Longest `mfa_token` accepted for a lookup.
const MFA_TOKEN_MAX: usize = crate::limits::ACCOUNT_TOKEN_INPUT_MAX;

impl AuthService {
    /// The caller's second factors.
    pub async fn mfa_status<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<MfaStatus, ServiceError> {
        let totp = confirmed_totp(db, who.patient_id).await?.is_some();
        Ok(MfaStatus {
            totp,
            recovery_codes_left: unused_codes(db, who.patient_id).await?,
            passkeys: passkey_count(db, who.patient_id).await?,
        })
    }

    /// `POST /auth/mfa/totp/setup`: a new secret for an authenticator app, not on until a code
    /// of it is confirmed. Replaces an earlier unconfirmed one.
    pub async fn totp_setup<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<TotpSetup, ServiceError> {
        if confirmed_totp(db, who.patient_id).await?.is_some() {
            return Err(ServiceError::MfaAlreadyEnabled);
        }
        let patient = Patient::find_by_id(who.patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let secret = totp::new_secret()
            .map_err(|e| ServiceError::Internal(format!("random source: {e}")))?;
        let issuer = &self.mfa().issuer;
        let (uri, base32) = totp::enrolment(&secret, issuer, &patient.email)
            .or_else(|| {
                totp::enrolment(&secret, issuer, &format!("patient {}", patient.patient_id))
            })
            .ok_or_else(|| ServiceError::Internal("an otpauth URI cannot be written".into()))?;
        let qr_svg = qr::svg(&uri)
            .ok_or_else(|| ServiceError::Internal("the QR code cannot be drawn".into()))?;
        let sealed = self
            .mfa()
            .secret_box
            .seal(&secret, &totp_context(who.patient_id))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        MfaTotp::delete_by_id(who.patient_id).exec(db).await?;
        MfaTotp::insert(mfa_totp::ActiveModel {
            patient_id: Set(who.patient_id),
            secret_sealed: Set(sealed),
            created_at: Set(self.clock().now()),
            confirmed_at: Set(None),
            last_step: Set(None),
        })
        .exec_without_returning(db)
        .await?;
        Ok(TotpSetup {
            secret: SecretString::from(base32),
            otpauth_uri: SecretString::from(uri),
            qr_svg: SecretString::from(qr_svg),
        })
    }

    /// `POST /auth/mfa/totp/confirm`: turns codes on after one valid code, and answers the ten
    /// recovery codes (shown once; only their keyed hashes are kept).
    pub async fn totp_confirm<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        code: &SecretString,
        client: &ClientInfo,
    ) -> Result<Vec<SecretString>, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let pending = MfaTotp::find_by_id(who.patient_id)
            .one(db)
            .await?
            .filter(|row| row.confirmed_at.is_none())
            .ok_or(ServiceError::MfaNotSetUp)?;
        let now = self.clock().now();
        let step = self.matching_step(&pending, code, now)?;
        let txn = db.begin().await?;
        let updated = MfaTotp::update_many()
            .col_expr(mfa_totp::Column::ConfirmedAt, Expr::value(now))
            .col_expr(mfa_totp::Column::LastStep, Expr::value(step))
            .filter(mfa_totp::Column::PatientId.eq(who.patient_id))
            .filter(mfa_totp::Column::ConfirmedAt.is_null())
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::MfaNotSetUp);
        }
        let codes = self
            .replace_recovery_codes(&txn, who.patient_id, now)
            .await?;
        let entry = AuditEntry::new(AuditAction::MfaEnabled, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!(
            "patient {} turned on authenticator-app codes",
            who.patient_id
        );
        Ok(codes)
    }

    /// `POST /auth/mfa/totp/disable`: turns codes off (and drops the recovery codes unless a
    /// passkey remains), with the current password and a fresh second factor.
    pub async fn totp_disable<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        password: SecretString,
        proof: SecondFactorProof,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        if confirmed_totp(db, who.patient_id).await?.is_none() {
            return Err(ServiceError::MfaNotSetUp);
        }
        self.check_password_and_factor(db, who, password, &proof, client)
            .await?;
        let now = self.clock().now();
        let txn = db.begin().await?;
        MfaTotp::delete_by_id(who.patient_id).exec(&txn).await?;
        drop_recovery_codes_if_last(&txn, who.patient_id).await?;
        let entry = AuditEntry::new(AuditAction::MfaDisabled, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!(
            "patient {} turned off authenticator-app codes",
            who.patient_id
        );
        Ok(())
    }

    /// `POST /auth/mfa/recovery-codes`: ten new recovery codes (the old ones stop working), with
    /// the current password and a fresh second factor.
    pub async fn regenerate_recovery_codes<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        password: SecretString,
        proof: SecondFactorProof,
        client: &ClientInfo,
    ) -> Result<Vec<SecretString>, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        self.check_password_and_factor(db, who, password, &proof, client)
            .await?;
        let now = self.clock().now();
        let txn = db.begin().await?;
        let codes = self
            .replace_recovery_codes(&txn, who.patient_id, now)
            .await?;
        let entry = AuditEntry::new(
            AuditAction::RecoveryCodesRegenerated,
            who.patient_id,
            &who.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        Ok(codes)
    }

    /// Issues the second step of a login for `patient` if they have a factor (in the caller's
    /// transaction); `None` when the password is enough.
    pub(crate) async fn second_factor_challenge<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient_id: i32,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<Option<SecondFactorChallenge>, ServiceError> {
        let totp = confirmed_totp(txn, patient_id).await?.is_some();
        let passkeys = passkey_count(txn, patient_id).await? > 0;
        if !totp && !passkeys {
            return Ok(None);
        }
        // The contract's names and order.
        let methods = [
            (totp, "totp"),
            (true, "recovery_code"),
            (passkeys, "webauthn"),
        ]
        .into_iter()
        .filter_map(|(on, method)| on.then_some(method))
        .collect();
        let (token, token_hash) = new_opaque_token()?;
        MfaChallenge::insert(mfa_challenge::ActiveModel {
            token_hash: Set(token_hash),
            patient_id: Set(patient_id),
            created_at: Set(now),
            expires_at: Set(now + self.mfa().challenge_lifetime),
            used_at: Set(None),
        })
        .exec_without_returning(txn)
        .await?;
        let entry = AuditEntry::account(AuditAction::MfaChallenged, patient_id);
        audit::record(txn, entry, client, now).await?;
        Ok(Some(SecondFactorChallenge {
            mfa_token: token,
            methods,
        }))
    }

    /// The patient an open `mfa_token` belongs to (to count their wrong codes);
    /// [`ServiceError::InvalidToken`] for an unknown, used or expired one.
    pub async fn mfa_challenge_owner<C: ConnectionTrait>(
        &self,
        db: &C,
        mfa_token: &SecretString,
    ) -> Result<i32, ServiceError> {
        Ok(self.open_challenge(db, mfa_token).await?.patient_id)
    }

    /// `POST /auth/mfa/verify`: completes a login with its second factor. A wrong factor is
    /// [`ServiceError::SecondFactorRejected`] (the token stays usable until it expires); a right
    /// one uses the token up. A recovery code also ends every other session of the patient.
    pub async fn complete_login<C>(
        &self,
        db: &C,
        mfa_token: &SecretString,
        proof: SecondFactorProof,
        client: &ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let challenge = self.open_challenge(db, mfa_token).await?;
        let patient_id = challenge.patient_id;
        let now = self.clock().now();
        let ceremony = self.take_assertion(db, patient_id, &proof, now).await?;
        let txn = db.begin().await?;
        let check = self
            .accept_factor(&txn, patient_id, &proof, ceremony, now)
            .await?;
        if !check.accepted() {
            drop(txn);
            let entry = check.failure(AuditEntry::account(AuditAction::MfaFailed, patient_id));
            audit::record(db, entry, client, now).await?;
            return Err(ServiceError::SecondFactorRejected);
        }
        let used = MfaChallenge::update_many()
            .col_expr(mfa_challenge::Column::UsedAt, Expr::value(now))
            .filter(mfa_challenge::Column::TokenHash.eq(challenge.token_hash.as_str()))
            .filter(mfa_challenge::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            return Err(ServiceError::InvalidToken);
        }
        let by_recovery_code = matches!(proof, SecondFactorProof::RecoveryCode(_));
        if by_recovery_code {
            // Whoever holds the phone may hold a session too: the patient starts afresh.
            sessions::end_all(&txn, patient_id, None, EndReason::RecoveryCode, now).await?;
        }
        let amr = match proof {
            SecondFactorProof::Passkey(_) => Amr::password_and_key(),
            SecondFactorProof::Code(_) | SecondFactorProof::RecoveryCode(_) => {
                Amr::password_and_otp()
            }
        };
        let session =
            sessions::open(&txn, patient_id, client, now, self.refresh_lifetime(), amr).await?;
        let action = if by_recovery_code {
            AuditAction::RecoveryCodeUsed
        } else {
            AuditAction::LoginSucceeded
        };
        audit::record(
            &txn,
            AuditEntry::new(action, patient_id, &session.session_id),
            client,
            now,
        )
        .await?;
        if by_recovery_code {
            if let Some(patient) = Patient::find_by_id(patient_id).one(&txn).await? {
                let notice = Notice::RecoveryCodeUsed { at: now };
                self.queue_notice(&txn, &patient, notice, client, now)
                    .await?;
            }
        }
        let profile = profile::load(&txn, patient_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        txn.commit().await?;
        self.mailer().wake();
        self.grant(patient_id, session, profile, now)
    }

    /// `patient-auth mfa-reset`: removes every second factor of a patient who lost them all.
    pub async fn reset_mfa<C>(&self, db: &C, email: &str) -> Result<i32, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient = patient_by_email(db, email)
            .await?
            .ok_or(ServiceError::PatientNotFound)?;
        let now = self.clock().now();
        let txn = db.begin().await?;
        MfaTotp::delete_by_id(patient.patient_id).exec(&txn).await?;
        MfaRecoveryCode::delete_many()
            .filter(mfa_recovery_code::Column::PatientId.eq(patient.patient_id))
            .exec(&txn)
            .await?;
        MfaChallenge::delete_many()
            .filter(mfa_challenge::Column::PatientId.eq(patient.patient_id))
            .exec(&txn)
            .await?;
        Passkey::delete_many()
            .filter(passkey::Column::PatientId.eq(patient.patient_id))
            .exec(&txn)
            .await?;
        WebauthnCeremony::delete_many()
            .filter(webauthn_ceremony::Column::PatientId.eq(patient.patient_id))
            .exec(&txn)
            .await?;
        let operator = ClientInfo::new(Some("patient-auth mfa-reset"), None);
        let entry = AuditEntry::account(AuditAction::MfaReset, patient.patient_id);
        audit::record(&txn, entry, &operator, now).await?;
        txn.commit().await?;
        log::warn!(
            "patient {}: every second factor removed by an operator",
            patient.patient_id
        );
        Ok(patient.patient_id)
    }

    /// Deletes challenges and passkey ceremonies past their expiry.
    pub(crate) async fn purge_challenges<C: ConnectionTrait>(
        &self,
        db: &C,
        now: DateTime<Utc>,
    ) -> Result<u64, ServiceError> {
        let challenges = MfaChallenge::delete_many()
            .filter(mfa_challenge::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?
            .rows_affected;
        Ok(challenges + ceremony::purge(db, now).await?)
    }

    /// The open challenge `mfa_token` names.
    pub(crate) async fn open_challenge<C: ConnectionTrait>(
        &self,
        db: &C,
        mfa_token: &SecretString,
    ) -> Result<mfa_challenge::Model, ServiceError> {
        let presented = mfa_token.expose_secret();
        if !is_well_formed_opaque(presented, MFA_TOKEN_MAX) {
            return Err(ServiceError::InvalidToken);
        }
        let now = self.clock().now();
        MfaChallenge::find_by_id(opaque_token_hash(presented))
            .one(db)
            .await?
            .filter(|c| c.used_at.is_none() && c.expires_at > now)
            .ok_or(ServiceError::InvalidToken)
    }

    /// For a passkey's answer, the patient's assertion ceremony it answers, taken out of the
    /// table first (on `db`, outside any transaction: it is used up even when the answer fails).
    async fn take_assertion<C: ConnectionTrait>(
        &self,
        db: &C,
        patient_id: i32,
        proof: &SecondFactorProof,
        now: DateTime<Utc>,
    ) -> Result<Option<PasskeyAuthentication>, ServiceError> {
        let SecondFactorProof::Passkey(assertion) = proof else {
            return Ok(None);
        };
        Ok(
            match ceremony::take(db, &assertion.ceremony_token, now).await? {
                Some(taken) if taken.patient_id == Some(patient_id) => match taken.state {
                    CeremonyState::Assert { state } => Some(state),
                    _ => None,
                },
                _ => None,
            },
        )
    }

    /// Whether `proof` is a valid, unused factor of the patient; using it up if so (in `txn`).
    /// A passkey's answer is checked against `ceremony`, from [`Self::take_assertion`].
    async fn accept_factor<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient_id: i32,
        proof: &SecondFactorProof,
        ceremony: Option<PasskeyAuthentication>,
        now: DateTime<Utc>,
    ) -> Result<FactorCheck, ServiceError> {
        match proof {
            SecondFactorProof::Passkey(assertion) => {
                let Some(state) = ceremony else {
                    return Ok(FactorCheck::Refused);
                };
                self.accept_passkey(txn, patient_id, &assertion.credential, &state, now)
                    .await
            }
            SecondFactorProof::Code(code) => {
                let Some(enrolled) = confirmed_totp(txn, patient_id).await? else {
                    return Ok(FactorCheck::Refused);
                };
                let Ok(step) = self.matching_step(&enrolled, code, now) else {
                    return Ok(FactorCheck::Refused);
                };
                // Each step once: a code seen (or replayed) is refused for the rest of its window.
                let updated = MfaTotp::update_many()
                    .col_expr(mfa_totp::Column::LastStep, Expr::value(step))
                    .filter(mfa_totp::Column::PatientId.eq(patient_id))
                    .filter(
                        Condition::any()
                            .add(mfa_totp::Column::LastStep.is_null())
                            .add(mfa_totp::Column::LastStep.lt(step)),
                    )
                    .exec(txn)
                    .await?;
                Ok(FactorCheck::from(updated.rows_affected == 1))
            }
            SecondFactorProof::RecoveryCode(code) => {
                let Some(hash) = recovery_codes::hash(&self.mfa().secret_box, code.expose_secret())
                else {
                    return Ok(FactorCheck::Refused);
                };
                let updated = MfaRecoveryCode::update_many()
                    .col_expr(mfa_recovery_code::Column::UsedAt, Expr::value(now))
                    .filter(mfa_recovery_code::Column::CodeHash.eq(hash.as_str()))
                    .filter(mfa_recovery_code::Column::PatientId.eq(patient_id))
                    .filter(mfa_recovery_code::Column::UsedAt.is_null())
                    .exec(txn)
                    .await?;
                Ok(FactorCheck::from(updated.rows_affected == 1))
            }
        }
    }

    /// The step `code` is valid for under the enrolment's secret, or `SecondFactorRejected`.
    fn matching_step(
        &self,
        enrolled: &mfa_totp::Model,
        code: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<i64, ServiceError> {
        let secret = self
            .mfa()
            .secret_box
            .open(&enrolled.secret_sealed, &totp_context(enrolled.patient_id))
            .map_err(|e| ServiceError::Internal(format!("patient {}: {e}", enrolled.patient_id)))?;
        totp::matching_step(&secret, code.expose_secret().trim(), now.timestamp())
            .ok_or(ServiceError::SecondFactorRejected)
    }

    /// Checks the current password and a fresh second factor (for turning a factor off).
    pub(crate) async fn check_password_and_factor<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        password: SecretString,
        proof: &SecondFactorProof,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient: patient::Model = Patient::find_by_id(who.patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        if !has_factor(db, who.patient_id).await? {
            return Err(ServiceError::MfaNotSetUp);
        }
        let verification = self
            .passwords()
            .verify(password, Some(patient.password_hash.clone()))
            .await?;
        let now = self.clock().now();
        let ceremony = self.take_assertion(db, who.patient_id, proof, now).await?;
        let txn = db.begin().await?;
        let factor = self
            .accept_factor(&txn, who.patient_id, proof, ceremony, now)
            .await?;
        if verification == Verification::Mismatch || !factor.accepted() {
            drop(txn);
            let entry = factor.failure(AuditEntry::new(
                AuditAction::MfaFailed,
                who.patient_id,
                &who.session_id,
            ));
            audit::record(db, entry, client, now).await?;
            // The caller is signed in: which one was wrong tells no more than a password change.
            return Err(if verification == Verification::Mismatch {
                ServiceError::InvalidCredentials
            } else {
                ServiceError::SecondFactorRejected
            });
        }
        txn.commit().await?;
        Ok(())
    }

    /// Replaces the patient's recovery codes with ten new ones; answers them.
    pub(crate) async fn replace_recovery_codes<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SecretString>, ServiceError> {
        MfaRecoveryCode::delete_many()
            .filter(mfa_recovery_code::Column::PatientId.eq(patient_id))
            .exec(txn)
            .await?;
        let codes = recovery_codes::generate()
            .map_err(|e| ServiceError::Internal(format!("random source: {e}")))?;
        let rows = codes
            .iter()
            .filter_map(|code| recovery_codes::hash(&self.mfa().secret_box, code))
            .map(|code_hash| mfa_recovery_code::ActiveModel {
                code_hash: Set(code_hash),
                patient_id: Set(patient_id),
                created_at: Set(now),
                used_at: Set(None),
            });
        MfaRecoveryCode::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        Ok(codes.into_iter().map(SecretString::from).collect())
    }
}

/// The associated data a TOTP secret is sealed with: its row.
fn totp_context(patient_id: i32) -> String {
    format!("mfa_totp:{patient_id}")
}

/// The patient's confirmed TOTP enrolment, if any.
pub(crate) async fn confirmed_totp<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
) -> Result<Option<mfa_totp::Model>, sea_orm::DbErr> {
    Ok(MfaTotp::find_by_id(patient_id)
        .one(db)
        .await?
        .filter(|row| row.confirmed_at.is_some()))
}

/// How many unused recovery codes the patient has.
async fn unused_codes<C: ConnectionTrait>(db: &C, patient_id: i32) -> Result<u64, sea_orm::DbErr> {
    MfaRecoveryCode::find()
        .filter(mfa_recovery_code::Column::PatientId.eq(patient_id))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

/// How many passkeys the patient has.
pub(crate) async fn passkey_count<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
) -> Result<u64, sea_orm::DbErr> {
    Passkey::find()
        .filter(passkey::Column::PatientId.eq(patient_id))
        .count(db)
        .await
}

/// Whether the patient has any second factor (authenticator app or passkey).
pub(crate) async fn has_factor<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
) -> Result<bool, sea_orm::DbErr> {
    Ok(confirmed_totp(db, patient_id).await?.is_some() || passkey_count(db, patient_id).await? > 0)
}

/// Drops the recovery codes once no factor is left that they stand in for.
pub(crate) async fn drop_recovery_codes_if_last<C: ConnectionTrait>(
    txn: &C,
    patient_id: i32,
) -> Result<(), sea_orm::DbErr> {
    if !has_factor(txn, patient_id).await? {
        MfaRecoveryCode::delete_many()
            .filter(mfa_recovery_code::Column::PatientId.eq(patient_id))
            .exec(txn)
            .await?;
    }
    Ok(())
}
