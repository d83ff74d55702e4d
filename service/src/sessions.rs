//! Sessions and their refresh tokens, stored in the database so that an ended session is refused
//! by every instance at once and stays ended after a restart.
//!
//! A session is opened by a login or registration and carries one live refresh token at a time.
//! Redeeming a refresh token consumes it and issues the next one; consumed tokens are kept until
//! they would have expired, so that presenting one again is recognised as theft.

use chrono::{DateTime, Duration, Utc};
use entity::prelude::{AuthSession, RefreshToken};
use entity::{auth_session, refresh_token};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};
use secrecy::SecretString;

use crate::auth::ClientInfo;
use crate::error::ServiceError;
use crate::tokens::{new_refresh_token, Amr};

/// A session just opened, with the only copy of its refresh token.
pub(crate) struct OpenedSession {
    pub session_id: String,
    pub refresh_token: SecretString,
    /// How the patient proved who they are for this session.
    pub amr: Amr,
}

/// Why a session ended, as stored in `auth_sessions.revoked_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// The patient logged out of this session.
    Logout,
    /// The patient logged out everywhere.
    LogoutAll,
    /// The patient changed their password; every other session ends.
    PasswordChange,
    /// A consumed refresh token was presented again.
    RefreshReuse,
    /// The patient ended this session from the session list.
    Ended,
    /// The password was reset with a mailed link; every session ends.
    PasswordReset,
    /// A recovery code was used to sign in; every other session ends.
    RecoveryCode,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::PasswordChange => "password_change",
            Self::RefreshReuse => "refresh_reuse",
            Self::Ended => "ended",
            Self::PasswordReset => "password_reset",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

/// Opens a session for `patient_id` and issues its first refresh token.
pub(crate) async fn open<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    client: &ClientInfo,
    now: DateTime<Utc>,
    refresh_lifetime: Duration,
    amr: Amr,
) -> Result<OpenedSession, ServiceError> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let expires_at = now + refresh_lifetime;
    AuthSession::insert(auth_session::ActiveModel {
        session_id: Set(session_id.clone()),
        patient_id: Set(patient_id),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        user_agent: Set(client.user_agent.clone()),
        ip: Set(client.ip.clone()),
        amr: Set(Some(amr.column())),
    })
    .exec_without_returning(db)
    .await?;
    let refresh_token = issue_refresh_token(db, &session_id, now, expires_at).await?;
    Ok(OpenedSession {
        session_id,
        refresh_token,
        amr,
    })
}

/// Issues a new refresh token for a session; only its hash is stored.
pub(crate) async fn issue_refresh_token<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<SecretString, ServiceError> {
    let (token, token_hash) = new_refresh_token()?;
    RefreshToken::insert(refresh_token::ActiveModel {
        token_hash: Set(token_hash),
        session_id: Set(session_id.to_owned()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
        consumed_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// The session with this id, ended or not.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<Option<auth_session::Model>, DbErr> {
    AuthSession::find_by_id(session_id.to_owned()).one(db).await
}

/// The refresh token stored under `token_hash`, with its session.
pub(crate) async fn find_refresh_token<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<(refresh_token::Model, auth_session::Model)>, DbErr> {
    let found = RefreshToken::find_by_id(token_hash.to_owned())
        .find_also_related(AuthSession)
        .one(db)
        .await?;
    Ok(found.and_then(|(token, session)| session.map(|session| (token, session))))
}

/// Marks a refresh token consumed; `false` when another request consumed it first. The
/// conditional update is the race's referee on every engine: only one request sees one row.
pub(crate) async fn consume_refresh_token<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = RefreshToken::update_many()
        .col_expr(refresh_token::Column::ConsumedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .filter(refresh_token::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks every outstanding refresh token of a session consumed (after a password change the
/// patient gets a new one; an old one presented later is then treated as theft).
pub(crate) async fn consume_all_refresh_tokens<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    RefreshToken::update_many()
        .col_expr(refresh_token::Column::ConsumedAt, Expr::value(now))
        .filter(refresh_token::Column::SessionId.eq(session_id))
        .filter(refresh_token::Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Records use of a session and moves its expiry (a refresh slides the window).
pub(crate) async fn extend<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    AuthSession::update_many()
        .col_expr(auth_session::Column::LastUsedAt, Expr::value(now))
        .col_expr(auth_session::Column::ExpiresAt, Expr::value(expires_at))
        .filter(auth_session::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records that a session was used just now.
pub(crate) async fn touch<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    AuthSession::update_many()
        .col_expr(auth_session::Column::LastUsedAt, Expr::value(now))
        .filter(auth_session::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends a session; `false` when it had already ended (or does not exist).
pub(crate) async fn end<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    reason: EndReason,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = AuthSession::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(
            auth_session::Column::RevokedReason,
            Expr::value(reason.as_str()),
        )
        .filter(auth_session::Column::SessionId.eq(session_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Ends every open session of a patient, except `keep`; returns how many ended.
pub(crate) async fn end_all<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    keep: Option<&str>,
    reason: EndReason,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut update = AuthSession::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(
            auth_session::Column::RevokedReason,
            Expr::value(reason.as_str()),
        )
        .filter(auth_session::Column::PatientId.eq(patient_id))
        .filter(auth_session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(auth_session::Column::SessionId.ne(keep));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// A patient's open, unexpired sessions, newest first.
pub(crate) async fn list_active<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<auth_session::Model>, DbErr> {
    AuthSession::find()
        .filter(auth_session::Column::PatientId.eq(patient_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .filter(auth_session::Column::ExpiresAt.gt(now))
        .order_by_desc(auth_session::Column::CreatedAt)
        .order_by_desc(auth_session::Column::SessionId)
        .all(db)
        .await
}

/// What a clean-up removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Sessions deleted (expired, or ended long enough ago that their access tokens expired too).
    pub sessions: u64,
    /// Refresh tokens deleted (expired; consumed ones are kept until then for theft detection).
    pub refresh_tokens: u64,
    /// Mailed tokens deleted (expired).
    pub account_tokens: u64,
    /// Records of sent or given-up messages deleted.
    pub mail_records: u64,
    /// Second-step challenges of logins deleted (expired).
    pub mfa_challenges: u64,
}

/// Deletes what can no longer matter: refresh tokens past their expiry, sessions past their
/// expiry, and ended sessions older than `keep_ended_for` (after which any access token of theirs
/// has expired, so `token_revoked` would have become `token_expired` anyway).
pub(crate) async fn purge<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    keep_ended_for: Duration,
) -> Result<PurgeReport, DbErr> {
    let refresh_tokens = RefreshToken::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    let sessions = AuthSession::delete_many()
        .filter(
            Condition::any()
                .add(auth_session::Column::ExpiresAt.lt(now))
                .add(auth_session::Column::RevokedAt.lt(now - keep_ended_for)),
        )
        .exec(db)
        .await?
        .rows_affected;
    Ok(PurgeReport {
        sessions,
        refresh_tokens,
        ..PurgeReport::default()
    })
}
