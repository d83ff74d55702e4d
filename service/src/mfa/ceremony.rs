//! The server's half of a WebAuthn ceremony, kept in `webauthn_ceremonies` between the options
//! sent to the browser and its answer: found by the hash of a random ceremony token the client
//! holds, short-lived, and used up by the first answer, right or wrong.

use chrono::{DateTime, Duration, Utc};
use entity::prelude::WebauthnCeremony;
use entity::webauthn_ceremony;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration, Uuid,
};

use crate::error::ServiceError;
use crate::tokens::{is_well_formed_opaque, new_opaque_token, opaque_token_hash};

/// Longest ceremony token accepted for a lookup.
const TOKEN_MAX: usize = crate::limits::ACCOUNT_TOKEN_INPUT_MAX;

/// What a ceremony is for, with the state `webauthn-rs` needs to finish it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
pub(crate) enum CeremonyState {
    /// Adding a passkey to the account.
    Register {
        /// Whether it will sign in alone (asked for as a discoverable credential).
        passwordless: bool,
        /// The patient's WebAuthn user handle.
        user_handle: Uuid,
        /// The challenge and its rules.
        state: PasskeyRegistration,
    },
    /// Proving one of the patient's passkeys (a second factor).
    Assert {
        /// The challenge and the credentials allowed.
        state: PasskeyAuthentication,
    },
    /// Signing in with a passkey alone; the authenticator says whose it is.
    Discover {
        /// The challenge.
        state: DiscoverableAuthentication,
    },
}

impl CeremonyState {
    /// The `purpose` column.
    fn purpose(&self) -> &'static str {
        match self {
            Self::Register { .. } => "register",
            Self::Assert { .. } => "assert",
            Self::Discover { .. } => "discover",
        }
    }
}

/// A ceremony taken back from the table.
pub(crate) struct TakenCeremony {
    /// Whose it was (`None` for a passwordless sign-in).
    pub patient_id: Option<i32>,
    /// What it was for.
    pub state: CeremonyState,
}

/// Stores a new ceremony; answers the token that finishes it (its only copy).
pub(crate) async fn begin<C: ConnectionTrait>(
    db: &C,
    patient_id: Option<i32>,
    state: &CeremonyState,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<SecretString, ServiceError> {
    let json = serde_json::to_string(state)
        .map_err(|e| ServiceError::Internal(format!("a ceremony cannot be written: {e}")))?;
    let (token, hash) = new_opaque_token()?;
    WebauthnCeremony::insert(webauthn_ceremony::ActiveModel {
        ceremony_hash: Set(hash),
        patient_id: Set(patient_id),
        purpose: Set(state.purpose().to_owned()),
        state: Set(json),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// Takes the ceremony `token` names out of the table, so it cannot be answered twice; `None`
/// when it is malformed, unknown, already taken or expired.
pub(crate) async fn take<C: ConnectionTrait>(
    db: &C,
    token: &SecretString,
    now: DateTime<Utc>,
) -> Result<Option<TakenCeremony>, ServiceError> {
    let presented = token.expose_secret();
    if !is_well_formed_opaque(presented, TOKEN_MAX) {
        return Ok(None);
    }
    let hash = opaque_token_hash(presented);
    let Some(row) = WebauthnCeremony::find_by_id(hash.clone()).one(db).await? else {
        return Ok(None);
    };
    // Whoever deletes the row owns the ceremony: two answers racing get one winner.
    let deleted = WebauthnCeremony::delete_many()
        .filter(webauthn_ceremony::Column::CeremonyHash.eq(hash))
        .exec(db)
        .await?;
    if deleted.rows_affected != 1 || row.expires_at <= now {
        return Ok(None);
    }
    let state = serde_json::from_str(&row.state)
        .map_err(|e| ServiceError::Internal(format!("ceremony state unreadable: {e}")))?;
    Ok(Some(TakenCeremony {
        patient_id: row.patient_id,
        state,
    }))
}

/// Deletes ceremonies past their expiry (an abandoned one is never answered).
pub(crate) async fn purge<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    Ok(WebauthnCeremony::delete_many()
        .filter(webauthn_ceremony::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}
