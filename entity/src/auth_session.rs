//! `auth_sessions`: one row per login; an access token is valid only while its session is.
#![allow(missing_docs)] // the derive macros generate undocumented items

use sea_orm::entity::prelude::*;

/// A signed-in device. `revoked_at` set means every token of the session is refused.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_sessions")]
pub struct Model {
    /// A random UUID, carried in access tokens as `sid`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    pub patient_id: i32,
    pub created_at: DateTimeUtc,
    pub last_used_at: DateTimeUtc,
    /// When the session's refresh token stops working.
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// Why the session ended: `logout`, `logout_all`, `password_change`, `refresh_reuse`, `ended`, `password_reset`.
    pub revoked_reason: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How the patient proved who they are when it opened (RFC 8176 `amr` values, space
    /// separated: `pwd`, `pwd otp`); `None` for sessions opened before the second factor existed.
    pub amr: Option<String>,
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
    #[sea_orm(has_many = "super::refresh_token::Entity")]
    RefreshToken,
}

impl Related<super::patient::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Patient.def()
    }
}

impl Related<super::refresh_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
