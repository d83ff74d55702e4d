//! `account_tokens`: the single-use tokens mailed to a patient (password reset, email
//! verification), stored only as a SHA-256 hash. A token is deleted when used or superseded.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One outstanding token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    /// Hex SHA-256 of the token; the token itself is never stored here.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub patient_id: i32,
    /// `password_reset` or `email_verification`.
    pub purpose: String,
    /// The address the token was mailed to: it works only while the patient still has it.
    pub email: String,
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
