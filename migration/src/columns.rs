//! Column and index shapes that differ between database engines.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// A `NOT NULL` UTC timestamp that the database fills with the current time when a row is
/// inserted without it (operators insert rows by hand).
pub fn utc_now(backend: DbBackend, name: impl IntoIden) -> ColumnDef {
    let mut column = utc_timestamp(backend, name);
    column.not_null().default(utc_now_expression(backend));
    column
}

/// A nullable UTC timestamp.
pub fn utc_timestamp(backend: DbBackend, name: impl IntoIden) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match backend {
        // DATETIME keeps working past 2038, unlike TIMESTAMP; the service writes UTC into it.
        DbBackend::MySql => column.custom(Alias::new("DATETIME(6)")),
        DbBackend::Postgres | DbBackend::Sqlite => column.timestamp_with_time_zone(),
    };
    column
}

/// The database's own "now, in UTC", in the same text form the driver writes on SQLite so
/// that rows compare and sort correctly whoever inserted them.
fn utc_now_expression(backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust("CURRENT_TIMESTAMP"),
        DbBackend::MySql => Expr::cust("(UTC_TIMESTAMP(6))"),
        DbBackend::Sqlite => Expr::cust("(strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))"),
    }
}

/// Table options every engine needs: on MySQL, full UTF-8 (Arabic names, emoji) and a
/// case-insensitive collation.
pub fn table_options(backend: DbBackend, table: &mut TableCreateStatement) {
    if backend == DbBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_unicode_ci");
    }
}

/// A unique index that ignores letter case. MySQL's collation already ignores case; PostgreSQL
/// and SQLite index `LOWER(column)`, which is also what the service's lookups compare.
pub async fn create_case_insensitive_unique_index(
    manager: &SchemaManager<'_>,
    index: &str,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::MySql => format!("CREATE UNIQUE INDEX {index} ON {table} ({column})"),
        DbBackend::Postgres | DbBackend::Sqlite => {
            format!("CREATE UNIQUE INDEX {index} ON {table} (LOWER({column}))")
        }
    };
    manager
        .get_connection()
        .execute_unprepared(&sql)
        .await
        .map(|_| ())
}

/// A plain index.
pub fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    index
}
