//! `schema_takeover`: one row saying when the Flask tables were taken over and what was carried
//! over, for `migration status` and for whoever reads the database later.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::prelude::DateTimeUtc;
use sea_orm_migration::sea_orm::ConnectionTrait;

use super::engine::{execute, query, query_texts, Engine};
use crate::columns::{table_options, utc_now};

const TABLE: &str = "schema_takeover";

/// A take-over, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeoverRecord {
    /// Which backend's tables were taken over (`flask`).
    pub source: String,
    /// When (UTC).
    pub taken_over_at: DateTimeUtc,
    /// The rows carried over, per table.
    pub summary: String,
}

/// Creates the table and writes the take-over's row.
pub async fn write(
    manager: &SchemaManager<'_>,
    engine: Engine,
    summary: &str,
) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    if engine == Engine::SqlServer {
        execute(
            conn,
            engine,
            "CREATE TABLE schema_takeover (
                takeover_id INT IDENTITY(1,1) NOT NULL CONSTRAINT pk_schema_takeover PRIMARY KEY,
                source NVARCHAR(32) NOT NULL,
                summary NVARCHAR(1000) NOT NULL,
                taken_over_at DATETIMEOFFSET NOT NULL CONSTRAINT df_schema_takeover_at DEFAULT SYSUTCDATETIME()
            )",
        )
        .await?;
    } else {
        let backend = manager.get_database_backend();
        let mut table = Table::create();
        table
            .table(Alias::new(TABLE))
            .col(
                ColumnDef::new(Alias::new("takeover_id"))
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Alias::new("source"))
                    .string_len(32)
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("summary"))
                    .string_len(1000)
                    .not_null(),
            )
            .col(utc_now(backend, Alias::new("taken_over_at")));
        table_options(backend, &mut table);
        manager.create_table(table).await?;
    }
    // The summary is counts and table names that this code wrote, never patient data.
    let summary = summary.replace('\'', "''");
    execute(
        conn,
        engine,
        &format!("INSERT INTO {TABLE} (source, summary) VALUES ('flask', '{summary}')"),
    )
    .await
}

/// The recorded take-over, if there was one.
pub async fn read(
    conn: &impl ConnectionTrait,
    engine: Engine,
) -> Result<Option<TakeoverRecord>, DbErr> {
    let tables = query_texts(conn, engine, engine.list_tables_sql()).await?;
    if !tables.iter().any(|t| t.eq_ignore_ascii_case(TABLE)) {
        return Ok(None);
    }
    let rows = query(
        conn,
        engine,
        &format!("SELECT source, summary, taken_over_at FROM {TABLE} ORDER BY takeover_id"),
    )
    .await?;
    rows.last()
        .map(|row| {
            Ok(TakeoverRecord {
                source: row.try_get("", "source")?,
                summary: row.try_get("", "summary")?,
                taken_over_at: row.try_get("", "taken_over_at")?,
            })
        })
        .transpose()
}

/// Drops the table, if it exists (reverting the first migration drops it with the tables it
/// describes).
pub async fn drop_if_exists(conn: &impl ConnectionTrait, engine: Engine) -> Result<(), DbErr> {
    let sql = match engine {
        Engine::SqlServer => {
            format!("IF OBJECT_ID(N'{TABLE}', N'U') IS NOT NULL DROP TABLE {TABLE}")
        }
        _ => format!("DROP TABLE IF EXISTS {TABLE}"),
    };
    execute(conn, engine, &sql).await
}
