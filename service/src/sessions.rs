//! Sessions: opened at login or registration, looked up on every authenticated request, ended by
//! logout. Stored in the database, so that an ended session is refused by every instance at once
//! and stays ended after a restart.

use chrono::{DateTime, Duration, Utc};
use entity::prelude::{AuthSession, RefreshToken};
use entity::{auth_session, refresh_token};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use secrecy::SecretString;

use crate::auth::ClientInfo;
use crate::error::ServiceError;
use crate::tokens::new_refresh_token;

/// A session just opened, with the only copy of its refresh token.
pub(crate) struct OpenedSession {
    pub session_id: String,
    pub refresh_token: SecretString,
}

/// Why a session ended, as stored in `auth_sessions.revoked_reason`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EndReason {
    Logout,
}

impl EndReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
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
    })
    .exec_without_returning(db)
    .await?;

    let (refresh_token, token_hash) = new_refresh_token()?;
    RefreshToken::insert(refresh_token::ActiveModel {
        token_hash: Set(token_hash),
        session_id: Set(session_id.clone()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
        consumed_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(OpenedSession {
        session_id,
        refresh_token,
    })
}

/// The session with this id, ended or not.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<Option<auth_session::Model>, DbErr> {
    AuthSession::find_by_id(session_id.to_owned()).one(db).await
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
