//! Schema migrations for SQLite, PostgreSQL and MySQL/MariaDB, from one set of migration code.
//!
//! Where the engines differ (timestamp types and their UTC defaults, case-insensitive unique
//! indexes, MySQL's character set) the difference is stated once, in [`columns`]. A database
//! the Flask backend created is taken over by [`up`] before the migrations run ([`takeover`]).

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261124_000001_contract_tables;
mod m20261124_000002_session_tables;
mod m20261124_000003_audit_events;
mod m20261203_000004_account_recovery;
mod m20261203_000005_second_factor;
mod m20261203_000006_passkeys;
pub mod mssql;
pub mod takeover;

pub use takeover::{MigrationError, TakeoverStatus};

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_contract_tables::Migration),
            Box::new(m20261124_000002_session_tables::Migration),
            Box::new(m20261124_000003_audit_events::Migration),
            Box::new(m20261203_000004_account_recovery::Migration),
            Box::new(m20261203_000005_second_factor::Migration),
            Box::new(m20261203_000006_passkeys::Migration),
        ]
    }
}

/// Applies pending migrations (all, or the next `steps`) with the engine's own migration set.
/// Tables the Flask backend created are taken over first, which applies the first migration.
pub async fn up(db: &database::Db, mut steps: Option<u32>) -> Result<(), MigrationError> {
    if steps == Some(0) {
        return Ok(());
    }
    if let Some(flask) = takeover::detect(db).await? {
        log::info!("the contract tables were created by the Flask backend: taking them over");
        let summary = takeover::take_over(db, &flask).await?;
        log::info!("took over the Flask tables, every row kept: {summary}");
        if !summary.unusable_password_hashes.is_empty() {
            log::warn!(
                "patients {:?} have a password hash that is neither bcrypt nor argon2: they \
                 cannot log in until a new password is set",
                summary.unusable_password_hashes
            );
        }
        steps = steps.map(|n| n - 1);
        if steps == Some(0) {
            return Ok(());
        }
    }
    let connection = db.for_migrations().await?;
    if db.is_sql_server() {
        mssql::MssqlMigrator::up(&connection, steps).await?;
    } else {
        Migrator::up(&connection, steps).await?;
    }
    Ok(())
}

/// Reverts the last `steps` migrations (all with `None`).
pub async fn down(db: &database::Db, steps: Option<u32>) -> Result<(), DbErr> {
    let connection = db.for_migrations().await?;
    if db.is_sql_server() {
        mssql::MssqlMigrator::down(&connection, steps).await
    } else {
        Migrator::down(&connection, steps).await
    }
}

/// Reverts every migration and applies them all again.
pub async fn refresh(db: &database::Db) -> Result<(), DbErr> {
    let connection = db.for_migrations().await?;
    if db.is_sql_server() {
        mssql::MssqlMigrator::refresh(&connection).await
    } else {
        Migrator::refresh(&connection).await
    }
}

/// Every migration's name and whether it is applied.
pub async fn status(db: &database::Db) -> Result<Vec<(String, bool)>, DbErr> {
    let connection = db.for_migrations().await?;
    let migrations = if db.is_sql_server() {
        mssql::MssqlMigrator::get_migration_with_status(&connection).await?
    } else {
        Migrator::get_migration_with_status(&connection).await?
    };
    Ok(migrations
        .iter()
        .map(|m| {
            (
                m.name().to_owned(),
                matches!(m.status(), sea_orm_migration::MigrationStatus::Applied),
            )
        })
        .collect())
}

/// How many migrations are not applied yet.
pub async fn pending(db: &database::Db) -> Result<usize, DbErr> {
    Ok(status(db)
        .await?
        .iter()
        .filter(|(_, applied)| !applied)
        .count())
}
