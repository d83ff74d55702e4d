//! `mfa_challenges`: the second step of a login whose password was right (the `mfa_token`),
//! stored as a hash, short-lived and single-use.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One pending second step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_challenges")]
pub struct Model {
    /// Hex SHA-256 of the `mfa_token`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub patient_id: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Set when a second factor completed the login.
    pub used_at: Option<DateTimeUtc>,
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
