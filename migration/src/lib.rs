//! Schema migrations for SQLite, PostgreSQL and MySQL/MariaDB, from one set of migration code.
//!
//! Where the engines differ (timestamp types and their UTC defaults, case-insensitive unique
//! indexes, MySQL's character set) the difference is stated once, in [`columns`].

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261124_000001_contract_tables;
mod m20261124_000002_session_tables;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_contract_tables::Migration),
            Box::new(m20261124_000002_session_tables::Migration),
        ]
    }
}
