//! `mail_outbox`: messages waiting for (or done with) delivery. A message is written in the
//! transaction of the action that sends it and delivered by a background worker; its text is
//! emptied once it is sent or given up, so the links it carried do not stay in the database.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One message.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub mail_id: i64,
    /// The patient it is for (the row goes when the patient does).
    pub patient_id: Option<i32>,
    /// What it is: `password_reset`, `email_verification`, `password_changed`.
    pub kind: String,
    pub recipient: String,
    /// The whole RFC 5322 message; `None` once sent or given up.
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    pub created_at: DateTimeUtc,
    /// Not tried before this time (retries back off).
    pub send_after: DateTimeUtc,
    /// Not worth sending after this time (the link in it has expired).
    pub expires_at: DateTimeUtc,
    pub attempts: i32,
    /// The worker that holds the message, until `claimed_until`.
    pub claimed_by: Option<String>,
    pub claimed_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailOutbox")
            .field("mail_id", &self.mail_id)
            .field("patient_id", &self.patient_id)
            .field("kind", &self.kind)
            .field("message", &"<redacted>")
            .field("attempts", &self.attempts)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::patient::Entity",
        from = "Column::PatientId",
        to = "super::patient::Column::PatientId",
        on_delete = "Cascade"
    )]
    Patient,
}

impl Related<super::patient::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Patient.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
