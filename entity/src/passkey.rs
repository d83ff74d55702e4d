//! `passkeys`: a patient's registered WebAuthn credentials (public keys: nothing here is secret,
//! but a row is what lets its holder in).
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One registered passkey.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    /// Random UUID: the id the API shows.
    #[sea_orm(primary_key, auto_increment = false)]
    pub passkey_id: String,
    pub patient_id: i32,
    /// Hex SHA-256 of the credential id (unique: a credential belongs to one account).
    pub credential_hash: String,
    /// The WebAuthn user handle of the patient (random UUID, the same for all their passkeys).
    pub user_handle: String,
    /// The patient's name for it.
    pub name: String,
    /// Whether it signs in alone (a discoverable credential), or only as a second factor.
    pub passwordless: bool,
    /// The credential as `webauthn-rs` keeps it (JSON: public key, counter, flags).
    #[sea_orm(column_type = "Text")]
    pub credential: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
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
