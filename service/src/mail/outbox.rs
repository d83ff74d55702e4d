//! The `mail_outbox` table: queueing, claiming (so that several instances never send one
//! message twice), and recording the outcome of each attempt.

use chrono::{DateTime, Duration, Utc};
use entity::mail_outbox;
use entity::prelude::MailOutbox;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::compose::Composed;

/// Longest `last_error` kept (the column holds 255).
const ERROR_MAX: usize = 255;

/// Writes a message to the outbox, due at once.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    db: &C,
    composed: Composed,
    patient_id: i32,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = mail_outbox::ActiveModel {
        patient_id: Set(Some(patient_id)),
        kind: Set(composed.kind.code().to_owned()),
        recipient: Set(composed.recipient),
        message: Set(Some(composed.message)),
        created_at: Set(now),
        send_after: Set(now),
        expires_at: Set(expires_at),
        attempts: Set(0),
        claimed_by: Set(None),
        claimed_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    };
    MailOutbox::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Not sent, not given up, due, and held by no worker.
fn open_and_free(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(mail_outbox::Column::SentAt.is_null())
        .add(mail_outbox::Column::FailedAt.is_null())
        .add(
            Condition::any()
                .add(mail_outbox::Column::ClaimedUntil.is_null())
                .add(mail_outbox::Column::ClaimedUntil.lt(now)),
        )
}

/// Up to `limit` messages due now, oldest first.
pub(crate) async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<mail_outbox::Model>, DbErr> {
    MailOutbox::find()
        .filter(open_and_free(now))
        .filter(mail_outbox::Column::SendAfter.lte(now))
        .order_by_asc(mail_outbox::Column::MailId)
        .limit(limit)
        .all(db)
        .await
}

/// Takes a message for `worker` until `now + lease`. Only one worker's update can match, so
/// only one sends it; a worker that dies lets its claim lapse and another takes the message.
pub(crate) async fn claim<C: ConnectionTrait>(
    db: &C,
    mail_id: i64,
    worker: &str,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let updated = MailOutbox::update_many()
        .col_expr(mail_outbox::Column::ClaimedBy, Expr::value(worker))
        .col_expr(mail_outbox::Column::ClaimedUntil, Expr::value(now + lease))
        .filter(mail_outbox::Column::MailId.eq(mail_id))
        .filter(open_and_free(now))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// The message left: record it and empty its text (the link in it must not stay behind).
pub(crate) async fn mark_sent<C: ConnectionTrait>(
    db: &C,
    mail_id: i64,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    close(db, mail_id, worker, mail_outbox::Column::SentAt, now, None).await
}

/// The attempt failed: try again at `next`, free for any worker.
pub(crate) async fn reschedule<C: ConnectionTrait>(
    db: &C,
    mail_id: i64,
    worker: &str,
    attempts: i32,
    next: DateTime<Utc>,
    error: &str,
) -> Result<(), DbErr> {
    MailOutbox::update_many()
        .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(mail_outbox::Column::SendAfter, Expr::value(next))
        .col_expr(
            mail_outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(mail_outbox::Column::LastError, Expr::value(bounded(error)))
        .filter(mail_outbox::Column::MailId.eq(mail_id))
        .filter(mail_outbox::Column::ClaimedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// The message is past its use (its link has expired): stop trying and empty its text.
pub(crate) async fn give_up<C: ConnectionTrait>(
    db: &C,
    mail_id: i64,
    worker: &str,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), DbErr> {
    let reason = bounded(reason);
    let outcome = mail_outbox::Column::FailedAt;
    close(db, mail_id, worker, outcome, now, Some(&reason)).await
}

/// Ends a message's life in the outbox: `outcome` (`sent_at` or `failed_at`) set to `now`, its
/// text emptied, its claim released, `last_error` set to `error`.
async fn close<C: ConnectionTrait>(
    db: &C,
    mail_id: i64,
    worker: &str,
    outcome: mail_outbox::Column,
    now: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), DbErr> {
    MailOutbox::update_many()
        .col_expr(outcome, Expr::value(now))
        .col_expr(
            mail_outbox::Column::Message,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            mail_outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            mail_outbox::Column::LastError,
            Expr::value(error.map(str::to_owned)),
        )
        .filter(mail_outbox::Column::MailId.eq(mail_id))
        .filter(mail_outbox::Column::ClaimedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the records of messages sent or given up before `before`.
pub async fn purge<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let deleted = MailOutbox::delete_many()
        .filter(
            Condition::any()
                .add(mail_outbox::Column::SentAt.lt(before))
                .add(mail_outbox::Column::FailedAt.lt(before)),
        )
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// `text` cut to the column's length, on a character boundary.
fn bounded(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(ERROR_MAX)
        .collect()
}
