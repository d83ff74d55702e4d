//! The same migrations, in T-SQL, for SQL Server: IDENTITY keys, NVARCHAR, DATETIMEOFFSET with
//! `SYSUTCDATETIME()` defaults, case-insensitive unique indexes on computed `LOWER(…)` columns
//! (the username one filtered to non-NULL rows), `ON DELETE CASCADE`. They carry the same names
//! as the portable ones, so `seaql_migrations` reads the same on every engine.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

mod m20261124_000001_contract_tables;
mod m20261124_000002_session_tables;
mod m20261124_000003_audit_events;
mod m20261203_000004_account_recovery;
mod m20261203_000005_second_factor;
mod m20261203_000006_passkeys;

/// Every SQL Server migration, oldest first.
pub struct MssqlMigrator;

#[async_trait::async_trait]
impl MigratorTrait for MssqlMigrator {
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

/// Creates the contract's four tables as the first migration does (the Flask take-over runs it
/// on its own).
pub(crate) async fn create_contract_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    run(manager, m20261124_000001_contract_tables::UP).await
}

/// Runs T-SQL statements one by one, marked so that the bridge sends them as they are.
async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "{} {statement}",
                database::mssql::translate::TSQL_MARKER
            ))
            .await?;
    }
    Ok(())
}
