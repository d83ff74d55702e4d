//! The single-use tokens mailed to a patient: a password-reset link and an email-verification
//! link. Only a token's hash is stored; a newer token of the same purpose replaces the older
//! one; a token works only before it expires and while the patient still has the address it was
//! mailed to; using one deletes it.

use chrono::{DateTime, Duration, Utc};
use entity::account_token;
use entity::prelude::AccountToken;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use secrecy::SecretString;

use crate::error::ServiceError;
use crate::limits::ACCOUNT_TOKEN_INPUT_MAX;
use crate::tokens::{is_well_formed_opaque, new_opaque_token, opaque_token_hash};

/// What a token lets its holder do, as stored in `account_tokens.purpose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Choose a new password.
    PasswordReset,
    /// Confirm the address.
    EmailVerification,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }
}

/// Issues a token for the patient's current address, replacing any earlier one of `purpose`.
pub(crate) async fn issue<C: ConnectionTrait>(
    db: &C,
    patient_id: i32,
    email: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<SecretString, ServiceError> {
    AccountToken::delete_many()
        .filter(account_token::Column::PatientId.eq(patient_id))
        .filter(account_token::Column::Purpose.eq(purpose.code()))
        .exec(db)
        .await?;
    let (token, token_hash) = new_opaque_token()?;
    let row = account_token::ActiveModel {
        token_hash: Set(token_hash),
        patient_id: Set(patient_id),
        purpose: Set(purpose.code().to_owned()),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
    };
    AccountToken::insert(row).exec_without_returning(db).await?;
    Ok(token)
}

/// The live token of `purpose` that `presented` is, if any: well formed, known, unexpired.
pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    presented: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<account_token::Model>, DbErr> {
    if !is_well_formed_opaque(presented, ACCOUNT_TOKEN_INPUT_MAX) {
        return Ok(None);
    }
    let found = AccountToken::find_by_id(opaque_token_hash(presented))
        .one(db)
        .await?;
    Ok(found.filter(|token| token.purpose == purpose.code() && token.expires_at > now))
}

/// Uses the token up; `false` when a concurrent request used it first.
pub(crate) async fn consume<C: ConnectionTrait>(db: &C, token_hash: &str) -> Result<bool, DbErr> {
    let deleted = AccountToken::delete_many()
        .filter(account_token::Column::TokenHash.eq(token_hash))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}

/// Deletes expired tokens.
pub(crate) async fn purge<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(AccountToken::delete_many()
        .filter(account_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}
