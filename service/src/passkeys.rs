//! Passkeys (WebAuthn): adding one to the account, listing and removing them, the options a
//! passkey answers as a second factor, and signing in with a passkey alone.
//!
//! Every ceremony's challenge stays on the server ([`crate::mfa::ceremony`]); the client holds
//! only a random token that finds it, and the first answer uses it up.

use chrono::{DateTime, Utc};
use entity::passkey;
use entity::prelude::{Passkey, Patient};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use secrecy::SecretString;
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, DiscoverableKey, Passkey as Credential,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid,
    WebauthnError,
};
use webauthn_rs_proto::{AuthenticatorSelectionCriteria, ResidentKeyRequirement};

use crate::audit::{self, AuditAction, AuditEntry, LoginFailure};
use crate::auth::{AuthService, AuthenticatedPatient, ClientInfo, TokenGrant};
use crate::error::{is_unique_violation, ServiceError};
use crate::limits::{PASSKEYS_PER_PATIENT, PASSKEY_ID_INPUT_MAX, PASSKEY_NAME_MAX};
use crate::mail::Notice;
use crate::mfa::ceremony::{self, CeremonyState};
use crate::password::Verification;
use crate::profile;
use crate::second_factor::{
    confirmed_totp, drop_recovery_codes_if_last, passkey_count, FactorCheck,
};
use crate::sessions;
use crate::tokens::{sha256_hex, Amr};
use crate::validation::FieldErrors;
use crate::SecondFactorProof;

/// Options for the browser, and the token that finishes their ceremony.
#[derive(Debug)]
pub struct Ceremony<Options> {
    /// Sent back with the browser's answer (5 minutes, once).
    pub ceremony_token: SecretString,
    /// For `navigator.credentials.create()` or `.get()` (JSON, `publicKey`).
    pub options: Options,
}

/// A registered passkey, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    /// Its id (for removing it).
    pub id: String,
    /// The patient's name for it.
    pub name: String,
    /// Whether it signs in alone.
    pub passwordless: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last signed in, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A passkey just added.
#[derive(Debug)]
pub struct PasskeyAdded {
    /// The passkey.
    pub passkey: PasskeySummary,
    /// Ten recovery codes when it is the account's first factor (shown once), else `None`.
    pub recovery_codes: Option<Vec<SecretString>>,
}

/// What a passkey is called when its owner gives no name.
const DEFAULT_NAME: &str = "Passkey";

impl AuthService {
    /// `GET /auth/passkeys`: the caller's passkeys, oldest first.
    pub async fn list_passkeys<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<Vec<PasskeySummary>, ServiceError> {
        Ok(passkeys_of(db, who.patient_id)
            .await?
            .into_iter()
            .map(summary)
            .collect())
    }

    /// `POST /auth/passkeys/register/options`: creation options for a new passkey, with the
    /// current password (a stolen access token alone must not plant a key). `passwordless`
    /// asks for a discoverable credential, which then also signs in alone.
    pub async fn passkey_registration_options<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        password: SecretString,
        passwordless: bool,
        client: &ClientInfo,
    ) -> Result<Ceremony<CreationChallengeResponse>, ServiceError> {
        let patient = Patient::find_by_id(who.patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let verification = self
            .passwords()
            .verify(password, Some(patient.password_hash.clone()))
            .await?;
        let now = self.clock().now();
        if verification == Verification::Mismatch {
            let entry = AuditEntry::new(AuditAction::MfaFailed, who.patient_id, &who.session_id);
            audit::record(db, entry, client, now).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        let existing = passkeys_of(db, who.patient_id).await?;
        if existing.len() as u64 >= PASSKEYS_PER_PATIENT {
            return Err(ServiceError::TooManyPasskeys);
        }
        let user_handle = match existing.first() {
            Some(row) => parse_handle(&row.user_handle)?,
            None => Uuid::new_v4(),
        };
        let exclude: Vec<CredentialID> = existing
            .iter()
            .filter_map(|row| credential_of(row).ok())
            .map(|credential| credential.cred_id().clone())
            .collect();
        let (mut options, state) = self
            .mfa()
            .relying_party
            .webauthn()
            .start_passkey_registration(
                user_handle,
                &patient.email,
                &patient.full_name,
                Some(exclude).filter(|ids| !ids.is_empty()),
            )
            .map_err(|e| ServiceError::Internal(format!("passkey options: {e}")))?;
        if passwordless {
            // Only a credential the authenticator keeps (discoverable) can name its account.
            let selection = options
                .public_key
                .authenticator_selection
                .get_or_insert_with(AuthenticatorSelectionCriteria::default);
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let state = CeremonyState::Register {
            passwordless,
            user_handle,
            state,
        };
        let lifetime = self.mfa().ceremony_lifetime;
        let ceremony_token =
            ceremony::begin(db, Some(who.patient_id), &state, now, lifetime).await?;
        Ok(Ceremony {
            ceremony_token,
            options,
        })
    }

    /// `POST /auth/passkeys/register`: adds the passkey the browser created for the options of
    /// `ceremony_token`, and mails the patient that it was added. The account's first factor
    /// also brings ten recovery codes.
    pub async fn register_passkey<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        ceremony_token: &SecretString,
        name: Option<&str>,
        credential: &RegisterPublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<PasskeyAdded, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let name = passkey_name(name)?;
        let now = self.clock().now();
        let taken = ceremony::take(db, ceremony_token, now).await?;
        let Some(CeremonyState::Register {
            passwordless,
            user_handle,
            state,
        }) = taken
            .filter(|t| t.patient_id == Some(who.patient_id))
            .map(|t| t.state)
        else {
            return Err(stale_ceremony());
        };
        let credential = self
            .mfa()
            .relying_party
            .webauthn()
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                log::info!("patient {}: passkey refused: {e}", who.patient_id);
                rejected("credential")
            })?;
        let json = serde_json::to_string(&credential)
            .map_err(|e| ServiceError::Internal(format!("a passkey cannot be written: {e}")))?;
        let row = passkey::Model {
            passkey_id: Uuid::new_v4().to_string(),
            patient_id: who.patient_id,
            credential_hash: credential_hash(credential.cred_id()),
            user_handle: user_handle.to_string(),
            name,
            passwordless,
            credential: json,
            created_at: now,
            last_used_at: None,
        };
        let txn = db.begin().await?;
        let registered = passkey_count(&txn, who.patient_id).await?;
        if registered >= PASSKEYS_PER_PATIENT {
            return Err(ServiceError::TooManyPasskeys);
        }
        let first_factor = registered == 0 && confirmed_totp(&txn, who.patient_id).await?.is_none();
        let inserted = Passkey::insert(passkey::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => {
                return Err(ServiceError::PasskeyTaken);
            }
            other => other?,
        };
        let recovery_codes = if first_factor {
            Some(
                self.replace_recovery_codes(&txn, who.patient_id, now)
                    .await?,
            )
        } else {
            None
        };
        let entry = AuditEntry::new(AuditAction::PasskeyAdded, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        // A key planted with a stolen password is what the patient must hear of.
        if let Some(patient) = Patient::find_by_id(who.patient_id).one(&txn).await? {
            let notice = Notice::PasskeyAdded { at: now };
            self.queue_notice(&txn, &patient, notice, client, now)
                .await?;
        }
        txn.commit().await?;
        self.mailer().wake();
        log::info!("patient {} added a passkey", who.patient_id);
        Ok(PasskeyAdded {
            passkey: summary(row),
            recovery_codes,
        })
    }

    /// `POST /auth/passkeys/remove`: removes one of the caller's passkeys, with the current
    /// password and a fresh second factor; the recovery codes go with the last factor.
    pub async fn remove_passkey<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        passkey_id: &str,
        password: SecretString,
        proof: SecondFactorProof,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        if passkey_id.is_empty() || passkey_id.len() > PASSKEY_ID_INPUT_MAX {
            return Err(ServiceError::PasskeyNotFound);
        }
        let owned = Passkey::find_by_id(passkey_id.to_owned())
            .one(db)
            .await?
            .is_some_and(|row| row.patient_id == who.patient_id);
        if !owned {
            return Err(ServiceError::PasskeyNotFound);
        }
        self.check_password_and_factor(db, who, password, &proof, client)
            .await?;
        let now = self.clock().now();
        let txn = db.begin().await?;
        let removed = Passkey::delete_many()
            .filter(passkey::Column::PasskeyId.eq(passkey_id))
            .filter(passkey::Column::PatientId.eq(who.patient_id))
            .exec(&txn)
            .await?;
        if removed.rows_affected != 1 {
            return Err(ServiceError::PasskeyNotFound);
        }
        drop_recovery_codes_if_last(&txn, who.patient_id).await?;
        let entry = AuditEntry::new(AuditAction::PasskeyRemoved, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!("patient {} removed a passkey", who.patient_id);
        Ok(())
    }

    /// `POST /auth/mfa/passkey/options`: the options a passkey answers to complete the login of
    /// `mfa_token` (its answer goes to `POST /auth/mfa/verify`).
    pub async fn second_step_passkey_options<C: ConnectionTrait>(
        &self,
        db: &C,
        mfa_token: &SecretString,
    ) -> Result<Ceremony<RequestChallengeResponse>, ServiceError> {
        let challenge = self.open_challenge(db, mfa_token).await?;
        self.assertion_options(db, challenge.patient_id).await
    }

    /// `POST /auth/passkeys/assertion-options`: the options a passkey answers as the fresh
    /// second factor of a change to the caller's factors.
    pub async fn fresh_passkey_options<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<Ceremony<RequestChallengeResponse>, ServiceError> {
        self.assertion_options(db, who.patient_id).await
    }

    /// `POST /auth/passkeys/login/options`: options for signing in with a passkey alone (the
    /// browser offers the patient's discoverable passkeys for this site).
    pub async fn passwordless_options<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<Ceremony<RequestChallengeResponse>, ServiceError> {
        let (mut options, state) = self
            .mfa()
            .relying_party
            .webauthn()
            .start_discoverable_authentication()
            .map_err(|e| ServiceError::Internal(format!("passkey options: {e}")))?;
        // A button's modal prompt; a page that wants autofill asks for it itself.
        options.mediation = None;
        let now = self.clock().now();
        let lifetime = self.mfa().ceremony_lifetime;
        let state = CeremonyState::Discover { state };
        let ceremony_token = ceremony::begin(db, None, &state, now, lifetime).await?;
        Ok(Ceremony {
            ceremony_token,
            options,
        })
    }

    /// `POST /auth/passkeys/login`: signs in with a passkey alone: one the patient registered
    /// as passwordless, answering the options of `ceremony_token`. Anything else is
    /// [`ServiceError::PasskeyRejected`].
    pub async fn passkey_login<C>(
        &self,
        db: &C,
        ceremony_token: &SecretString,
        credential: &PublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock().now();
        let taken = ceremony::take(db, ceremony_token, now).await?;
        let Some(CeremonyState::Discover { state }) =
            taken.filter(|t| t.patient_id.is_none()).map(|t| t.state)
        else {
            return Err(stale_ceremony());
        };
        let webauthn = self.mfa().relying_party.webauthn();
        let row = match webauthn.identify_discoverable_authentication(credential) {
            Ok((handle, credential_id)) => Passkey::find()
                .filter(passkey::Column::CredentialHash.eq(credential_hash(credential_id)))
                .one(db)
                .await?
                .filter(|row| row.user_handle == handle.to_string()),
            Err(_) => None,
        };
        let Some(row) = row else {
            let entry = AuditEntry::login_failed(None, LoginFailure::UnknownPasskey);
            audit::record(db, entry, client, now).await?;
            return Err(ServiceError::PasskeyRejected);
        };
        let patient_id = row.patient_id;
        let mut stored = credential_of(&row)?;
        let result = match webauthn.finish_discoverable_authentication(
            credential,
            state,
            &[DiscoverableKey::from(&stored)],
        ) {
            Ok(result) if row.passwordless => result,
            outcome => {
                let failure = match outcome {
                    Err(WebauthnError::CredentialPossibleCompromise) => {
                        log_counter_went_back(patient_id);
                        LoginFailure::PasskeyCounterWentBack
                    }
                    Err(e) => {
                        log::info!("patient {patient_id}: passkey sign-in refused: {e}");
                        LoginFailure::PasskeyRefused
                    }
                    Ok(_) => LoginFailure::PasskeyRefused,
                };
                let entry = AuditEntry::login_failed(Some(patient_id), failure);
                audit::record(db, entry, client, now).await?;
                return Err(ServiceError::PasskeyRejected);
            }
        };
        let patient = Patient::find_by_id(patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::PasskeyRejected)?;
        if self.recovery().require_verified_email && !patient.email_verified {
            let entry = AuditEntry::login_failed(Some(patient_id), LoginFailure::EmailNotVerified);
            audit::record(db, entry, client, now).await?;
            return Err(ServiceError::EmailNotVerified);
        }
        stored.update_credential(&result);
        let txn = db.begin().await?;
        save_use(&txn, &row, &stored, now).await?;
        let session = sessions::open(
            &txn,
            patient_id,
            client,
            now,
            self.refresh_lifetime(),
            Amr::passkey(),
        )
        .await?;
        let entry = AuditEntry::new(AuditAction::LoginSucceeded, patient_id, &session.session_id);
        audit::record(&txn, entry, client, now).await?;
        let profile = profile::load(&txn, patient_id)
            .await?
            .ok_or(ServiceError::PasskeyRejected)?;
        txn.commit().await?;
        self.grant(patient_id, session, profile, now)
    }

    /// Whether `credential` answers `state` with one of the patient's passkeys; records its use
    /// (counter, last use) in `txn` if so.
    pub(crate) async fn accept_passkey<C: ConnectionTrait>(
        &self,
        txn: &C,
        patient_id: i32,
        credential: &PublicKeyCredential,
        state: &webauthn_rs::prelude::PasskeyAuthentication,
        now: DateTime<Utc>,
    ) -> Result<FactorCheck, ServiceError> {
        let webauthn = self.mfa().relying_party.webauthn();
        let result = match webauthn.finish_passkey_authentication(credential, state) {
            Ok(result) => result,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                log_counter_went_back(patient_id);
                return Ok(FactorCheck::CounterWentBack);
            }
            Err(e) => {
                log::info!("patient {patient_id}: passkey answer refused: {e}");
                return Ok(FactorCheck::Refused);
            }
        };
        let Some(row) = Passkey::find()
            .filter(passkey::Column::CredentialHash.eq(credential_hash(result.cred_id())))
            .filter(passkey::Column::PatientId.eq(patient_id))
            .one(txn)
            .await?
        else {
            return Ok(FactorCheck::Refused);
        };
        let mut stored = credential_of(&row)?;
        stored.update_credential(&result);
        save_use(txn, &row, &stored, now).await?;
        Ok(FactorCheck::Accepted)
    }

    /// Assertion options over the patient's passkeys.
    async fn assertion_options<C: ConnectionTrait>(
        &self,
        db: &C,
        patient_id: i32,
    ) -> Result<Ceremony<RequestChallengeResponse>, ServiceError> {
        let credentials = passkeys_of(db, patient_id)
            .await?
            .iter()
            .map(credential_of)
            .collect::<Result<Vec<_>, _>>()?;
        if credentials.is_empty() {
            return Err(ServiceError::MfaNotSetUp);
        }
        let (options, state) = self
            .mfa()
            .relying_party
            .webauthn()
            .start_passkey_authentication(&credentials)
            .map_err(|e| ServiceError::Internal(format!("passkey options: {e}")))?;
        let now = self.clock().now();
        let lifetime = self.mfa().ceremony_lifetime;
        let state = CeremonyState::Assert { state };
        let ceremony_token = ceremony::begin(db, Some(patient_id), &state, now, lifetime).await?;
        Ok(Ceremony {
            ceremony_token,
            options,
        })
    }
}

/// The patient's passkeys, oldest first.
async fn passkeys_of<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
) -> Result<Vec<passkey::Model>, sea_orm::DbErr> {
    Passkey::find()
        .filter(passkey::Column::PatientId.eq(patient_id))
        .order_by_asc(passkey::Column::CreatedAt)
        .order_by_asc(passkey::Column::PasskeyId)
        .all(db)
        .await
}

/// Stores a passkey's updated counter and flags, and when it was used.
async fn save_use<C: ConnectionTrait>(
    txn: &C,
    row: &passkey::Model,
    credential: &Credential,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let json = serde_json::to_string(credential)
        .map_err(|e| ServiceError::Internal(format!("a passkey cannot be written: {e}")))?;
    Passkey::update_many()
        .col_expr(passkey::Column::Credential, Expr::value(json))
        .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
        .filter(passkey::Column::PasskeyId.eq(row.passkey_id.as_str()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Tells operators (the log beside the audit trail) that a passkey may have been copied.
fn log_counter_went_back(patient_id: i32) {
    log::warn!(
        "patient {patient_id}: a passkey signed with a counter that did not go up (a copy of \
         the key may be in use); refused"
    );
}

/// The stored credential of a row.
fn credential_of(row: &passkey::Model) -> Result<Credential, ServiceError> {
    serde_json::from_str(&row.credential)
        .map_err(|e| ServiceError::Internal(format!("passkey {}: {e}", row.passkey_id)))
}

/// The stored user handle of a row.
fn parse_handle(text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text).map_err(|e| ServiceError::Internal(format!("user handle: {e}")))
}

/// The stored form of a credential id: ids run to 1,023 bytes, too long for a unique index.
fn credential_hash(credential_id: &[u8]) -> String {
    sha256_hex(credential_id)
}

/// A passkey's name: trimmed, 1–64 characters without control characters; "Passkey" when none
/// is given.
fn passkey_name(name: Option<&str>) -> Result<String, ServiceError> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Ok(DEFAULT_NAME.to_owned());
    }
    let mut errors = FieldErrors::default();
    if name.chars().count() > PASSKEY_NAME_MAX {
        errors.add(
            "name",
            format!("must be at most {PASSKEY_NAME_MAX} characters"),
        );
    } else if name.chars().any(char::is_control) {
        errors.add("name", "must not contain control characters");
    }
    if errors.is_empty() {
        Ok(name.to_owned())
    } else {
        Err(ServiceError::Validation(errors))
    }
}

/// A ceremony token that is unknown, used, expired, or of another ceremony.
fn stale_ceremony() -> ServiceError {
    let mut errors = FieldErrors::default();
    errors.add(
        "ceremony_token",
        "is unknown, used or expired: ask for new options",
    );
    ServiceError::Validation(errors)
}

/// An answer that does not fit its options.
fn rejected(field: &str) -> ServiceError {
    let mut errors = FieldErrors::default();
    errors.add(field, "does not answer these options");
    ServiceError::Validation(errors)
}

/// The owner's view of a row.
fn summary(row: passkey::Model) -> PasskeySummary {
    PasskeySummary {
        id: row.passkey_id,
        name: row.name,
        passwordless: row.passwordless,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    }
}
