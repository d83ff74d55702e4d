//! `audit_events`: the append-only trail of who did what to which patient's record.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One recorded action. `patient_id` has no foreign key on purpose: the trail outlives a deleted
/// patient. Never holds a password, token, hash, or the identifier typed at a failed login.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub audit_event_id: i64,
    pub occurred_at: DateTimeUtc,
    /// The patient the action concerned; `NULL` for a login to an unknown account.
    pub patient_id: Option<i32>,
    /// What happened: `register`, `login_succeeded`, `login_failed`, `logout`, … (see the service).
    pub event: String,
    /// Why, where the event has a reason (`unknown_account`, `wrong_password`).
    pub reason: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    /// The request's `X-Request-Id`, to find its log line.
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
