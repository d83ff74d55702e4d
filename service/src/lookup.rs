//! Finding patients by email or username, ignoring letter case the way the unique indexes do.

use entity::patient;
use entity::prelude::Patient;
use sea_orm::sea_query::{Expr, Func, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter};

/// `column` equals `value` ignoring case. MySQL's collation already ignores case (and only then
/// uses the index); PostgreSQL and SQLite compare `LOWER(column)`, which their indexes cover.
fn equals_ignoring_case(backend: DbBackend, column: patient::Column, value: &str) -> SimpleExpr {
    let value = value.to_lowercase();
    match backend {
        DbBackend::MySql => column.eq(value),
        DbBackend::Postgres | DbBackend::Sqlite => {
            Expr::expr(Func::lower(Expr::col(column))).eq(value)
        }
    }
}

/// The patient with this email address, if any.
pub(crate) async fn patient_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<patient::Model>, DbErr> {
    let condition = equals_ignoring_case(
        db.get_database_backend(),
        patient::Column::Email,
        email.trim(),
    );
    Patient::find().filter(condition).one(db).await
}

/// The patient with this username, if any.
pub(crate) async fn patient_by_username<C: ConnectionTrait>(
    db: &C,
    username: &str,
) -> Result<Option<patient::Model>, DbErr> {
    let condition = equals_ignoring_case(
        db.get_database_backend(),
        patient::Column::Username,
        username.trim(),
    );
    Patient::find().filter(condition).one(db).await
}
