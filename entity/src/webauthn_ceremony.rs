//! `webauthn_ceremonies`: the server's half of a WebAuthn ceremony (its challenge) between the
//! options it sent and the browser's answer; found by the hash of the ceremony token, used once.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One pending ceremony.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    /// Hex SHA-256 of the ceremony token the client holds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ceremony_hash: String,
    /// Whose it is; `None` for a passwordless sign-in (nobody is known yet).
    pub patient_id: Option<i32>,
    /// `register`, `assert` or `discover`.
    pub purpose: String,
    /// The `webauthn-rs` state (JSON).
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
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
