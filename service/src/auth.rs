//! Registration, login, token checks and logout: the authentication use cases.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use entity::prelude::Patient;
use entity::{auth_session, patient};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, AuditAction, AuditEntry, LoginFailure};
use crate::audit_queue::AuditQueue;
use crate::clock::Clock;
use crate::error::{is_unique_violation, unique_violation_message, ServiceError};
use crate::lookup::{patient_by_email, patient_by_username};
use crate::mail::{Language, MailIdentity, Mailer, Notice};
use crate::password::{HashPriority, PasswordHasher, Verification};
use crate::profile::{self, Profile, SessionStatus};
use crate::recovery::RecoveryConfig;
use crate::second_factor::{LoginOutcome, MfaConfig};
use crate::sessions::{self, EndReason, PurgeReport};
use crate::tokens::{is_well_formed_opaque, refresh_token_hash, Amr, TokenCodec};
use crate::validation::{check_new_password, NewPatient, RegistrationForm};

/// Token and hashing settings.
pub struct AuthConfig {
    /// HMAC key for access tokens.
    pub jwt_secret: SecretString,
    /// `iss` claim written and required.
    pub issuer: String,
    /// `aud` claim written and required.
    pub audience: String,
    /// How long an access token is valid.
    pub access_token_lifetime: Duration,
    /// Clock skew tolerated on `exp`.
    pub leeway: Duration,
    /// How long a session's refresh token is valid.
    pub refresh_token_lifetime: Duration,
    /// How long after its use a refresh token presented again is a client's own race (refused,
    /// session kept) rather than theft (session ended).
    pub refresh_reuse_grace: Duration,
    /// Password hashes computed at once (0 = one per core).
    pub hash_concurrency: usize,
    /// How the hashing threads share the cores with request handling.
    pub hash_priority: HashPriority,
    /// Password reset and email verification.
    pub recovery: RecoveryConfig,
    /// Who messages come from and where their links point.
    pub mail: MailIdentity,
    /// The second factor.
    pub mfa: MfaConfig,
}

/// Where a request came from: kept with a new session so a patient can recognise their devices,
/// and with every audit event.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The `User-Agent` header, shortened and stripped of control characters.
    pub user_agent: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The request's id (`X-Request-Id`), so an audit event leads to the request's log line.
    pub request_id: Option<String>,
    /// The language messages to this client are written in (from `Accept-Language`).
    pub language: Language,
}

impl ClientInfo {
    /// Longest user agent kept, in characters (the column holds 512).
    const USER_AGENT_MAX: usize = crate::limits::USER_AGENT_MAX;
    /// Longest request id kept, in characters (the column holds 128).
    const REQUEST_ID_MAX: usize = 128;

    /// Client information from raw request data.
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::USER_AGENT_MAX)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        Self {
            user_agent,
            ip,
            request_id: None,
            language: Language::default(),
        }
    }

    /// The same client, reading `language`.
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The same client, with the id of the request it sent (bounded, control characters dropped).
    pub fn with_request_id(mut self, request_id: &str) -> Self {
        let request_id: String = request_id
            .chars()
            .filter(|c| !c.is_control())
            .take(Self::REQUEST_ID_MAX)
            .collect();
        self.request_id = Some(request_id).filter(|id| !id.trim().is_empty());
        self
    }
}

/// How a patient names their account at login.
#[derive(Debug, Clone)]
pub enum LoginId {
    /// By email address (case-insensitive).
    Email(String),
    /// By username (case-insensitive).
    Username(String),
}

/// Login input.
#[derive(Debug)]
pub struct Credentials {
    /// Email or username.
    pub login: LoginId,
    /// The password in clear.
    pub password: SecretString,
}

/// What a successful login or registration hands back.
#[derive(Debug)]
pub struct TokenGrant {
    /// The signed access token (`Debug` does not show it).
    pub access_token: SecretString,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The session's refresh token (the only copy; only its hash is stored).
    pub refresh_token: SecretString,
    /// The patient's profile.
    pub profile: Profile,
}

/// The patient and session behind a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedPatient {
    /// Patient id.
    pub patient_id: i32,
    /// Session id (`sid`).
    pub session_id: String,
    /// How the patient proved who they are for this session (the token's `amr`).
    pub amr: Amr,
}

/// How long the record of a sent (or given-up) message is kept, its text already emptied.
const MAIL_RECORDS_KEPT: Duration = Duration::days(30);

/// How stale `auth_sessions.last_used_at` may get before a request refreshes it.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(15);

/// Longest refresh token accepted for a lookup; ours are 43 characters.
const REFRESH_TOKEN_MAX: usize = crate::limits::REFRESH_TOKEN_INPUT_MAX;

/// A session as the patient's session list shows it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session row.
    pub session: auth_session::Model,
    /// Whether the request came with this session's token.
    pub current: bool,
}

/// The authentication use cases, with their keys, hasher and clock built once.
pub struct AuthService {
    tokens: TokenCodec,
    passwords: PasswordHasher,
    clock: Arc<dyn Clock>,
    refresh_lifetime: Duration,
    /// How long an ended session is kept: until every access token it issued has expired.
    keep_ended_sessions_for: Duration,
    /// How long after its use a refresh token presented again counts as a race, not theft.
    refresh_reuse_grace: Duration,
    /// Where reads record their audit events (group commit); `None`: one `INSERT` each.
    audit_queue: Option<AuditQueue>,
    /// Composes and queues the messages the use cases send.
    mailer: Mailer,
    /// Password reset and email verification.
    recovery: RecoveryConfig,
    /// The second factor.
    mfa: MfaConfig,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// Builds the service; computes the dummy hash used for unknown accounts.
    pub fn new(config: AuthConfig, clock: Arc<dyn Clock>) -> Result<Self, ServiceError> {
        Ok(Self {
            tokens: TokenCodec::new(
                &config.jwt_secret,
                &config.issuer,
                &config.audience,
                config.access_token_lifetime,
                config.leeway,
            ),
            passwords: PasswordHasher::new(config.hash_concurrency, config.hash_priority)?,
            clock,
            refresh_lifetime: config.refresh_token_lifetime,
            keep_ended_sessions_for: config.access_token_lifetime + config.leeway,
            refresh_reuse_grace: config.refresh_reuse_grace,
            audit_queue: None,
            mailer: Mailer::new(config.mail),
            recovery: config.recovery,
            mfa: config.mfa,
        })
    }

    /// Second-factor settings.
    pub(crate) fn mfa(&self) -> &MfaConfig {
        &self.mfa
    }

    /// The mailer (its wake handle drives this instance's delivery worker).
    pub fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Recovery and verification settings.
    pub(crate) fn recovery(&self) -> &RecoveryConfig {
        &self.recovery
    }

    /// The clock the use cases read.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// How long a new session's refresh token lives.
    pub(crate) fn refresh_lifetime(&self) -> Duration {
        self.refresh_lifetime
    }

    /// Records the audit events of reads through `queue` (one commit for concurrent reads)
    /// instead of one `INSERT` each.
    pub fn with_audit_queue(mut self, queue: AuditQueue) -> Self {
        self.audit_queue = Some(queue);
        self
    }

    /// The password hasher, for operator commands that set passwords.
    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    /// Registers a patient and opens their first session.
    pub async fn register<C>(
        &self,
        db: &C,
        form: RegistrationForm,
        client: &ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let new_patient = NewPatient::parse(form).map_err(ServiceError::Validation)?;
        // Checked first so that a taken email does not cost a password hash; the unique indexes
        // still decide races between concurrent registrations.
        ensure_unclaimed(db, &new_patient).await?;
        let password_hash = self.passwords.hash(new_patient.password.clone()).await?;
        let now = self.clock.now();

        let txn = db.begin().await?;
        let patient = insert_patient(&txn, &new_patient, password_hash, now).await?;
        let session = sessions::open(
            &txn,
            patient.patient_id,
            client,
            now,
            self.refresh_lifetime,
            Amr::password(),
        )
        .await?;
        let entry = AuditEntry::new(
            AuditAction::Register,
            patient.patient_id,
            &session.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        self.mail_link(
            &txn,
            &patient,
            crate::account_tokens::Purpose::EmailVerification,
            client,
            now,
        )
        .await?;
        txn.commit().await?;
        self.mailer.wake();
        log::info!("patient {} registered", patient.patient_id);
        self.grant(
            patient.patient_id,
            session,
            Profile::new_patient(patient),
            now,
        )
    }

    /// Creates a patient account without opening a session (operator command).
    pub async fn create_patient<C: ConnectionTrait>(
        &self,
        db: &C,
        new_patient: NewPatient,
    ) -> Result<patient::Model, ServiceError> {
        ensure_unclaimed(db, &new_patient).await?;
        let password_hash = self.passwords.hash(new_patient.password.clone()).await?;
        insert_patient(db, &new_patient, password_hash, self.clock.now()).await
    }

    /// Checks credentials and opens a session, or, with a second factor on, answers its
    /// challenge. Unknown accounts and wrong passwords fail alike.
    pub async fn login<C>(
        &self,
        db: &C,
        credentials: Credentials,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient = match &credentials.login {
            LoginId::Email(email) => patient_by_email(db, email).await?,
            LoginId::Username(username) => patient_by_username(db, username).await?,
        };
        let stored_hash = patient.as_ref().map(|p| p.password_hash.clone());
        let verification = self
            .passwords
            .verify(credentials.password.clone(), stored_hash)
            .await?;
        let (patient, needs_upgrade) = match (patient, verification) {
            (Some(patient), Verification::Match { needs_upgrade }) => (patient, needs_upgrade),
            (patient, _) => {
                // Never the identifier that was typed: for an unknown account it may be a password.
                let entry = match patient {
                    Some(patient) => AuditEntry::login_failed(
                        Some(patient.patient_id),
                        LoginFailure::WrongPassword,
                    ),
                    None => AuditEntry::login_failed(None, LoginFailure::UnknownAccount),
                };
                audit::record(db, entry, client, self.clock.now()).await?;
                return Err(ServiceError::InvalidCredentials);
            }
        };
        if self.recovery.require_verified_email && !patient.email_verified {
            // Only after the right password, and at the cost of a wrong one: the answer tells
            // nothing to someone who does not know the password.
            let entry =
                AuditEntry::login_failed(Some(patient.patient_id), LoginFailure::EmailNotVerified);
            audit::record(db, entry, client, self.clock.now()).await?;
            return Err(ServiceError::EmailNotVerified);
        }
        let upgraded_hash = if needs_upgrade {
            Some(self.passwords.hash(credentials.password).await?)
        } else {
            None
        };

        let now = self.clock.now();
        let txn = db.begin().await?;
        if let Some(new_hash) = upgraded_hash {
            // Only replaces the hash that was verified, should a password change race this login.
            Patient::update_many()
                .col_expr(patient::Column::PasswordHash, Expr::value(new_hash))
                .col_expr(patient::Column::UpdatedAt, Expr::value(now))
                .filter(patient::Column::PatientId.eq(patient.patient_id))
                .filter(patient::Column::PasswordHash.eq(patient.password_hash.as_str()))
                .exec(&txn)
                .await?;
            log::info!(
                "patient {}: password hash upgraded to argon2id",
                patient.patient_id
            );
        }
        // With a second factor on, the right password earns only the second step.
        if let Some(challenge) = self
            .second_factor_challenge(&txn, patient.patient_id, client, now)
            .await?
        {
            txn.commit().await?;
            return Ok(LoginOutcome::SecondFactorRequired(challenge));
        }
        let session = sessions::open(
            &txn,
            patient.patient_id,
            client,
            now,
            self.refresh_lifetime,
            Amr::password(),
        )
        .await?;
        let entry = AuditEntry::new(
            AuditAction::LoginSucceeded,
            patient.patient_id,
            &session.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        // Read in the transaction: one connection checkout and one commit for the whole login.
        let profile = profile::load(&txn, patient.patient_id)
            .await?
            .ok_or(ServiceError::InvalidCredentials)?;
        txn.commit().await?;
        self.grant(patient.patient_id, session, profile, now)
            .map(|grant| LoginOutcome::Granted(Box::new(grant)))
    }

    /// Checks an access token and its session: one indexed lookup by session id.
    pub async fn authenticate<C: ConnectionTrait>(
        &self,
        db: &C,
        token: &str,
    ) -> Result<AuthenticatedPatient, ServiceError> {
        let _serving = self.passwords.serving();
        let subject = self.token_subject(token)?;
        let session = sessions::find(db, &subject.1).await?;
        self.admit(db, subject, session.map(Into::into)).await
    }

    /// The profile of the token's patient, with the session check and the profile read in one
    /// query (the hot path of `GET /auth/me`); the same rules as [`Self::authenticate`]. The read
    /// is recorded in the audit trail before the profile is returned (through the audit queue's
    /// group commit when the service has one).
    pub async fn profile_for_token<C: ConnectionTrait>(
        &self,
        db: &C,
        token: &str,
        client: &ClientInfo,
    ) -> Result<Profile, ServiceError> {
        let _serving = self.passwords.serving();
        let subject = self.token_subject(token)?;
        let (session, profile) = match profile::load_with_session(db, subject.0, &subject.1).await?
        {
            Some((session, profile)) => (Some(session), Some(profile)),
            None => (None, None),
        };
        let who = self.admit(db, subject, session).await?;
        let profile = profile.ok_or(ServiceError::InvalidToken)?;
        self.record_profile_read(db, &who, client).await?;
        Ok(profile)
    }

    /// Records that `who` read their profile (no profile leaves the service unrecorded).
    async fn record_profile_read<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        client: &ClientInfo,
    ) -> Result<(), ServiceError> {
        let entry = AuditEntry::new(AuditAction::ProfileRead, who.patient_id, &who.session_id);
        match &self.audit_queue {
            Some(queue) => queue.record(entry, client, self.clock.now()).await,
            None => Ok(audit::record(db, entry, client, self.clock.now()).await?),
        }
    }

    /// The patient id and session id of a valid, unexpired access token.
    fn token_subject(&self, token: &str) -> Result<(i32, String, Amr), ServiceError> {
        let claims = self.tokens.decode(token, self.clock.now())?;
        let patient_id: i32 = claims.sub.parse().map_err(|_| ServiceError::InvalidToken)?;
        Ok((patient_id, claims.sid, Amr::from_values(claims.amr)))
    }

    /// Lets a token's request in if its session exists, belongs to the token's patient and is open.
    async fn admit<C: ConnectionTrait>(
        &self,
        db: &C,
        (patient_id, session_id, amr): (i32, String, Amr),
        session: Option<SessionStatus>,
    ) -> Result<AuthenticatedPatient, ServiceError> {
        // A deleted patient's sessions are deleted with them (cascade), so "no session" covers it.
        let session = session.ok_or(ServiceError::InvalidToken)?;
        if session.patient_id != patient_id {
            return Err(ServiceError::InvalidToken);
        }
        if session.revoked_at.is_some() {
            return Err(ServiceError::TokenRevoked);
        }
        // "Last used" is kept to the quarter hour: at most one write per session that often.
        let now = self.clock.now();
        if now - session.last_used_at > LAST_USED_RESOLUTION {
            sessions::touch(db, &session_id, now).await?;
        }
        Ok(AuthenticatedPatient {
            patient_id,
            session_id,
            amr,
        })
    }

    /// Ends the caller's session: its access and refresh tokens stop working everywhere.
    pub async fn logout<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock.now();
        let txn = db.begin().await?;
        if !sessions::end(&txn, &who.session_id, EndReason::Logout, now).await? {
            return Err(ServiceError::TokenRevoked);
        }
        let entry = AuditEntry::new(AuditAction::Logout, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!("patient {} logged out", who.patient_id);
        Ok(())
    }

    /// The caller's profile (recorded in the audit trail like [`Self::profile_for_token`]).
    pub async fn profile<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        client: &ClientInfo,
    ) -> Result<Profile, ServiceError> {
        let profile = profile::load(db, who.patient_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        self.record_profile_read(db, who, client).await?;
        Ok(profile)
    }

    /// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a
    /// consumed one again ends its whole session (it was stolen, or the client is compromised).
    pub async fn refresh<C>(
        &self,
        db: &C,
        refresh_token: &SecretString,
        client: &ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let _serving = self.passwords.serving();
        let presented = refresh_token.expose_secret();
        if !is_well_formed_opaque(presented, REFRESH_TOKEN_MAX) {
            return Err(ServiceError::InvalidToken);
        }
        let token_hash = refresh_token_hash(presented);
        let (token, session) = sessions::find_refresh_token(db, &token_hash)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let now = self.clock.now();
        if session.revoked_at.is_some() {
            return Err(ServiceError::InvalidToken);
        }
        if let Some(consumed_at) = token.consumed_at {
            // Within the grace period this is a client racing itself (two requests refreshing
            // with the same token at once): it gets nothing, and the session lives on. Later, the
            // token can only have been copied: the whole session ends.
            // The session's end and its record commit together, although the answer is a 401.
            if now - consumed_at > self.refresh_reuse_grace {
                let txn = db.begin().await?;
                sessions::end(&txn, &session.session_id, EndReason::RefreshReuse, now).await?;
                let entry = AuditEntry::new(
                    AuditAction::RefreshReuseDetected,
                    session.patient_id,
                    &session.session_id,
                );
                audit::record(&txn, entry, client, now).await?;
                txn.commit().await?;
                log::warn!(
                    "patient {}: a consumed refresh token was presented again; session ended",
                    session.patient_id
                );
            }
            return Err(ServiceError::InvalidToken);
        }
        if token.expires_at <= now || session.expires_at <= now {
            return Err(ServiceError::InvalidToken);
        }

        let expires_at = now + self.refresh_lifetime;
        let txn = db.begin().await?;
        if !sessions::consume_refresh_token(&txn, &token_hash, now).await? {
            // A concurrent refresh with the same token won; this one gets nothing.
            return Err(ServiceError::InvalidToken);
        }
        let next =
            sessions::issue_refresh_token(&txn, &session.session_id, now, expires_at).await?;
        sessions::extend(&txn, &session.session_id, now, expires_at).await?;
        let entry = AuditEntry::new(
            AuditAction::Refresh,
            session.patient_id,
            &session.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        let profile = profile::load(&txn, session.patient_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        txn.commit().await?;
        let opened = sessions::OpenedSession {
            amr: Amr::from_column(session.amr.as_deref()),
            session_id: session.session_id,
            refresh_token: next,
        };
        self.grant(session.patient_id, opened, profile, now)
    }

    /// Ends every session of the caller's patient, on every instance, at once.
    pub async fn logout_all<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        client: &ClientInfo,
    ) -> Result<u64, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let now = self.clock.now();
        let txn = db.begin().await?;
        let ended =
            sessions::end_all(&txn, who.patient_id, None, EndReason::LogoutAll, now).await?;
        let entry = AuditEntry::new(AuditAction::LogoutAll, who.patient_id, &who.session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!("patient {} logged out of {ended} sessions", who.patient_id);
        Ok(ended)
    }

    /// Changes the password after checking the current one; every other session ends, and the
    /// caller's session gets a fresh token pair (its outstanding refresh token is retired).
    pub async fn change_password<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        current_password: SecretString,
        new_password: SecretString,
        client: &ClientInfo,
    ) -> Result<TokenGrant, ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let patient = Patient::find_by_id(who.patient_id)
            .one(db)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        let verification = self
            .passwords
            .verify(current_password, Some(patient.password_hash.clone()))
            .await?;
        if verification == Verification::Mismatch {
            let entry = AuditEntry::password_change_failed(patient.patient_id, &who.session_id);
            audit::record(db, entry, client, self.clock.now()).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        check_new_password(
            new_password.expose_secret(),
            &[Some(patient.email.as_str()), patient.username.as_deref()],
        )
        .map_err(|errors| ServiceError::Validation(errors.renamed("password", "new_password")))?;
        let new_hash = self.passwords.hash(new_password).await?;

        let now = self.clock.now();
        let expires_at = now + self.refresh_lifetime;
        let txn = db.begin().await?;
        let updated = Patient::update_many()
            .col_expr(patient::Column::PasswordHash, Expr::value(new_hash))
            .col_expr(patient::Column::UpdatedAt, Expr::value(now))
            .filter(patient::Column::PatientId.eq(patient.patient_id))
            .filter(patient::Column::PasswordHash.eq(patient.password_hash.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            // The password changed between our check and this write: the check no longer holds.
            return Err(ServiceError::InvalidCredentials);
        }
        sessions::end_all(
            &txn,
            patient.patient_id,
            Some(&who.session_id),
            EndReason::PasswordChange,
            now,
        )
        .await?;
        sessions::consume_all_refresh_tokens(&txn, &who.session_id, now).await?;
        let next = sessions::issue_refresh_token(&txn, &who.session_id, now, expires_at).await?;
        sessions::extend(&txn, &who.session_id, now, expires_at).await?;
        let entry = AuditEntry::new(
            AuditAction::PasswordChanged,
            patient.patient_id,
            &who.session_id,
        );
        audit::record(&txn, entry, client, now).await?;
        self.queue_notice(
            &txn,
            &patient,
            Notice::PasswordChanged { at: now },
            client,
            now,
        )
        .await?;
        let profile = profile::load(&txn, patient.patient_id)
            .await?
            .ok_or(ServiceError::InvalidToken)?;
        txn.commit().await?;
        self.mailer.wake();
        log::info!(
            "patient {} changed their password; other sessions ended",
            patient.patient_id
        );
        let opened = sessions::OpenedSession {
            session_id: who.session_id.clone(),
            refresh_token: next,
            amr: who.amr.clone(),
        };
        self.grant(patient.patient_id, opened, profile, now)
    }

    /// The caller's open sessions, newest first, the current one marked.
    pub async fn sessions<C: ConnectionTrait>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
    ) -> Result<Vec<SessionInfo>, ServiceError> {
        let open = sessions::list_active(db, who.patient_id, self.clock.now()).await?;
        Ok(open
            .into_iter()
            .map(|session| SessionInfo {
                current: session.session_id == who.session_id,
                session,
            })
            .collect())
    }

    /// Ends one of the caller's sessions. Another patient's session and an unknown one are the
    /// same "not found", so session ids cannot be probed. The audit event names the ended session.
    pub async fn end_session<C>(
        &self,
        db: &C,
        who: &AuthenticatedPatient,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<(), ServiceError>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let owned = sessions::find(db, session_id)
            .await?
            .filter(|s| s.patient_id == who.patient_id && s.revoked_at.is_none());
        if owned.is_none() {
            return Err(ServiceError::SessionNotFound);
        }
        let now = self.clock.now();
        let txn = db.begin().await?;
        if !sessions::end(&txn, session_id, EndReason::Ended, now).await? {
            return Err(ServiceError::SessionNotFound);
        }
        let entry = AuditEntry::new(AuditAction::SessionEnded, who.patient_id, session_id);
        audit::record(&txn, entry, client, now).await?;
        txn.commit().await?;
        log::info!("patient {} ended one of their sessions", who.patient_id);
        Ok(())
    }

    /// Deletes expired sessions and refresh tokens (run periodically by the server).
    pub async fn purge_expired<C: ConnectionTrait>(
        &self,
        db: &C,
    ) -> Result<PurgeReport, ServiceError> {
        let now = self.clock.now();
        let mut report = sessions::purge(db, now, self.keep_ended_sessions_for).await?;
        report.account_tokens = crate::account_tokens::purge(db, now).await?;
        report.mail_records = crate::mail::outbox::purge(db, now - MAIL_RECORDS_KEPT).await?;
        report.mfa_challenges = self.purge_challenges(db, now).await?;
        Ok(report)
    }

    /// The token response for a session just opened or renewed.
    pub(crate) fn grant(
        &self,
        patient_id: i32,
        session: sessions::OpenedSession,
        profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ServiceError> {
        let signed = self
            .tokens
            .issue(patient_id, &session.session_id, &session.amr, now)?;
        Ok(TokenGrant {
            access_token: signed.token,
            expires_in: signed.expires_in,
            refresh_token: session.refresh_token,
            profile,
        })
    }
}

/// Fails with the matching conflict when the email or username is already in use.
async fn ensure_unclaimed<C: ConnectionTrait>(
    db: &C,
    new_patient: &NewPatient,
) -> Result<(), ServiceError> {
    if patient_by_email(db, &new_patient.email).await?.is_some() {
        return Err(ServiceError::EmailTaken);
    }
    if let Some(username) = &new_patient.username {
        if patient_by_username(db, username).await?.is_some() {
            return Err(ServiceError::UsernameTaken);
        }
    }
    Ok(())
}

/// Inserts the patient row; a unique-index violation (a concurrent registration won) becomes the
/// matching conflict.
async fn insert_patient<C: ConnectionTrait>(
    db: &C,
    new_patient: &NewPatient,
    password_hash: String,
    now: DateTime<Utc>,
) -> Result<patient::Model, ServiceError> {
    let row = patient::ActiveModel {
        username: Set(new_patient.username.clone()),
        full_name: Set(new_patient.name.clone()),
        email: Set(new_patient.email.clone()),
        password_hash: Set(password_hash),
        phone: Set(None),
        date_of_birth: Set(None),
        doctor_id: Set(None),
        caregiver_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match row.insert(db).await {
        Ok(patient) => Ok(patient),
        Err(error) if is_unique_violation(&error) => Err(conflict_from(&error, new_patient)),
        Err(error) => Err(error.into()),
    }
}

/// Which unique index a violation came from, read from the index name in the driver's message.
fn conflict_from(error: &sea_orm::DbErr, new_patient: &NewPatient) -> ServiceError {
    let Some(message) = unique_violation_message(error) else {
        return ServiceError::EmailTaken;
    };
    let Some(username) = new_patient.username.as_deref() else {
        return ServiceError::EmailTaken;
    };
    // MySQL quotes the clashing value; remove ours first, so that an email such as
    // "ux_patients_username@example.org" cannot pass for the index name.
    let message = message
        .replace(&new_patient.email, "")
        .replace(username, "");
    if message.contains("ux_patients_username") {
        ServiceError::UsernameTaken
    } else {
        ServiceError::EmailTaken
    }
}

#[cfg(test)]
mod tests {
    use super::ClientInfo;

    #[test]
    fn client_info_strips_control_characters_and_bounds_the_user_agent() {
        let info = ClientInfo::new(
            Some("Laptop/2.0\u{7}\r\nX-Forged: 1"),
            Some("127.0.0.1".into()),
        );
        assert_eq!(info.user_agent.as_deref(), Some("Laptop/2.0X-Forged: 1"));
        let long = "u".repeat(2000);
        assert_eq!(
            ClientInfo::new(Some(&long), None)
                .user_agent
                .map(|ua| ua.chars().count()),
            Some(512)
        );
        assert_eq!(ClientInfo::new(Some("  "), None).user_agent, None);
    }

    #[test]
    fn the_request_id_is_bounded_to_its_column() {
        let client = ClientInfo::default().with_request_id(&"r".repeat(300));
        assert_eq!(client.request_id.map(|id| id.chars().count()), Some(128));
        assert_eq!(ClientInfo::default().with_request_id("").request_id, None);
        assert_eq!(
            ClientInfo::default()
                .with_request_id("abc\n-1")
                .request_id
                .as_deref(),
            Some("abc-1")
        );
    }
}
