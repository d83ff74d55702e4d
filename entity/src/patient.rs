//! `patients`: the accounts this service authenticates.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// A patient account. `password_hash` is an argon2id PHC string, or a passlib bcrypt hash left by
/// the Flask backend until that patient's next login. `Debug` leaves the hash out.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "patients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub patient_id: i32,
    pub username: Option<String>,
    pub full_name: String,
    pub email: String,
    pub password_hash: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<Date>,
    pub doctor_id: Option<i32>,
    pub caregiver_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Whether the patient followed a link mailed to `email` (rows taken over from Flask: no).
    pub email_verified: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Patient")
            .field("patient_id", &self.patient_id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("password_hash", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::doctor::Entity",
        from = "Column::DoctorId",
        to = "super::doctor::Column::DoctorId"
    )]
    Doctor,
    #[sea_orm(
        belongs_to = "super::caregiver::Entity",
        from = "Column::CaregiverId",
        to = "super::caregiver::Column::CaregiverId"
    )]
    Caregiver,
    #[sea_orm(has_many = "super::prescription::Entity")]
    Prescription,
    #[sea_orm(has_many = "super::auth_session::Entity")]
    AuthSession,
}

impl Related<super::doctor::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Doctor.def()
    }
}

impl Related<super::caregiver::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Caregiver.def()
    }
}

impl Related<super::prescription::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Prescription.def()
    }
}

impl Related<super::auth_session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuthSession.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
