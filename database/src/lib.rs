//! How every patient-auth binary reaches its database.
//!
//! The server and the `migration` ops binary must agree on where the database is and how a
//! `DATABASE_URL` is read, so both take it from here: the accepted URL forms ([`DatabaseUrl`]),
//! the layered settings sources ([`settings_sources`]), the connection itself ([`connect`]) and the
//! handle every query runs on ([`Db`]): SeaORM's own drivers for SQLite, PostgreSQL and MySQL, and
//! the SQL Server bridge ([`mssql`]) for SQL Server. [`errors`] tells an outage or a unique
//! violation apart on all of them.

mod connect;
mod db;
pub mod errors;
pub mod mssql;
mod mssql_url;
mod settings_sources;
mod url;

pub use connect::{connect, ConnectError, PoolSettings};
pub use db::{Db, SqlServerDb};
pub use mssql_url::{MssqlEncryption, MssqlTarget};
pub use settings_sources::{settings_sources, SettingsSources, DEFAULT_DATABASE_URL};
pub use url::{DatabaseUrl, SqliteTarget, UrlError};
