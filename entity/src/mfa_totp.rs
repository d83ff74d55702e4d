//! `mfa_totp`: a patient's authenticator-app secret, sealed (AES-256-GCM under
//! `MFA_ENCRYPTION_KEY`); on only once `confirmed_at` is set.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// One patient's TOTP enrolment. `Debug` leaves the sealed secret out.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_totp")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patient_id: i32,
    /// The secret, sealed for this row; never stored in clear.
    pub secret_sealed: String,
    pub created_at: DateTimeUtc,
    /// When a first valid code turned it on; `None` while only set up.
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last time step a code was accepted for: a code works once.
    pub last_step: Option<i64>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaTotp")
            .field("patient_id", &self.patient_id)
            .field("secret_sealed", &"<redacted>")
            .field("confirmed_at", &self.confirmed_at)
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
