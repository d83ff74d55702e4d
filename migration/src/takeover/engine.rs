//! What the take-over says differently on each engine: how tables and columns are listed, how a
//! table is renamed out of the way, and how a Flask value becomes one of ours.

use database::Db;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

/// The four engines. The SQL Server bridge speaks to SeaORM as PostgreSQL, so the engine is
/// told from the [`Db`] handle, never from the SeaORM backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// An embedded SQLite file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
    /// SQL Server, through the bridge.
    SqlServer,
}

impl Engine {
    /// The engine behind `db`.
    pub fn of(db: &Db) -> Self {
        use sea_orm_migration::sea_orm::DbBackend;
        if db.is_sql_server() {
            return Self::SqlServer;
        }
        match db.get_database_backend() {
            DbBackend::Sqlite => Self::Sqlite,
            DbBackend::Postgres => Self::Postgres,
            DbBackend::MySql => Self::MySql,
        }
    }

    /// Whether a failed step can be rolled back with the rest: every engine here but MySQL,
    /// whose DDL commits by itself.
    pub fn has_transactional_ddl(self) -> bool {
        self != Self::MySql
    }

    /// Wraps engine-specific SQL so that it reaches the engine as written (the bridge passes
    /// marked statements through untranslated).
    pub fn statement(self, conn: &impl ConnectionTrait, sql: &str) -> Statement {
        let sql = match self {
            Self::SqlServer => format!("{} {sql}", database::mssql::translate::TSQL_MARKER),
            _ => sql.to_owned(),
        };
        Statement::from_string(conn.get_database_backend(), sql)
    }

    /// The tables of the current schema (database, on MySQL).
    pub fn list_tables_sql(self) -> &'static str {
        match self {
            Self::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Self::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
            }
            Self::MySql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE()"
            }
            Self::SqlServer => "SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID()",
        }
    }

    /// The columns of `table`, as rows of `column_name` and `column_type`. (Read them by name:
    /// the SQL Server bridge's rows are keyed by column name, so their order is not the
    /// statement's.)
    pub fn list_columns_sql(self, table: &str) -> String {
        match self {
            Self::Sqlite => format!(
                "SELECT name AS column_name, type AS column_type FROM pragma_table_info('{table}')"
            ),
            Self::Postgres => format!(
                "SELECT CAST(column_name AS TEXT) AS column_name, \
                 CAST(data_type AS TEXT) AS column_type FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Self::MySql => format!(
                "SELECT CAST(column_name AS CHAR) AS column_name, \
                 CAST(data_type AS CHAR) AS column_type FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
            Self::SqlServer => format!(
                "SELECT COLUMN_NAME AS column_name, DATA_TYPE AS column_type \
                 FROM INFORMATION_SCHEMA.COLUMNS \
                 WHERE TABLE_SCHEMA = SCHEMA_NAME() AND TABLE_NAME = '{table}'"
            ),
        }
    }

    /// Statements that move the Flask tables to `flask_<name>`, keeping their rows and the
    /// foreign keys between them.
    pub fn rename_sql(self, tables: &[&str]) -> Vec<String> {
        match self {
            // One statement, so the four renames happen together or not at all.
            Self::MySql => vec![format!(
                "RENAME TABLE {}",
                tables
                    .iter()
                    .map(|t| format!("{t} TO {}", flask_name(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            Self::SqlServer => tables
                .iter()
                .map(|t| format!("EXEC sp_rename N'{t}', N'{}', N'OBJECT'", flask_name(t)))
                .collect(),
            Self::Sqlite | Self::Postgres => tables
                .iter()
                .map(|t| format!("ALTER TABLE {t} RENAME TO {}", flask_name(t)))
                .collect(),
        }
    }

    /// The SQL expression that turns a Flask timestamp column (naive, holding UTC) into this
    /// engine's UTC timestamp as our tables store it; a missing value becomes "now".
    pub fn timestamp_from_flask(self, column: &str, flask_type: &str) -> String {
        match self {
            Self::Sqlite => format!(
                "COALESCE(strftime('%Y-%m-%dT%H:%M:%f+00:00', {column}), \
                 strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))"
            ),
            Self::Postgres if flask_type.eq_ignore_ascii_case("timestamp with time zone") => {
                format!("COALESCE({column}, CURRENT_TIMESTAMP)")
            }
            Self::Postgres => format!("COALESCE({column} AT TIME ZONE 'UTC', CURRENT_TIMESTAMP)"),
            Self::MySql => format!("COALESCE({column}, UTC_TIMESTAMP(6))"),
            Self::SqlServer if flask_type.eq_ignore_ascii_case("datetimeoffset") => {
                format!("COALESCE({column}, SYSUTCDATETIME())")
            }
            // DATETIME and DATETIME2 hold no offset: they are taken as UTC.
            Self::SqlServer => format!(
                "COALESCE(TODATETIMEOFFSET({column}, '+00:00'), \
                 TODATETIMEOFFSET(SYSUTCDATETIME(), '+00:00'))"
            ),
        }
    }

    /// Wraps an `INSERT` that names the table's identity column, where the engine needs it.
    pub fn with_explicit_ids(self, table: &str, insert: String) -> String {
        match self {
            // One batch: the setting belongs to the session, and the bridge sends each call
            // through sp_executesql, whose scope would end it.
            Self::SqlServer => {
                format!("SET IDENTITY_INSERT {table} ON; {insert}; SET IDENTITY_INSERT {table} OFF")
            }
            _ => insert,
        }
    }

    /// After rows were copied with their ids: make the next generated id follow the highest.
    /// SQLite, MySQL and SQL Server do this by themselves.
    pub fn continue_ids_sql(self, table: &str, id: &str) -> Option<String> {
        (self == Self::Postgres).then(|| {
            format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{id}'), \
                 COALESCE(MAX({id}), 0) + 1, false) FROM {table}"
            )
        })
    }
}

/// The name a Flask table is moved to while its rows are copied.
pub fn flask_name(table: &str) -> String {
    format!("flask_{table}")
}

/// Runs one statement on `conn`.
pub async fn execute(conn: &impl ConnectionTrait, engine: Engine, sql: &str) -> Result<(), DbErr> {
    conn.execute(engine.statement(conn, sql)).await.map(drop)
}

/// Runs one query on `conn`.
pub async fn query(
    conn: &impl ConnectionTrait,
    engine: Engine,
    sql: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    conn.query_all(engine.statement(conn, sql)).await
}

/// The first column of every row, as text.
pub async fn query_texts(
    conn: &impl ConnectionTrait,
    engine: Engine,
    sql: &str,
) -> Result<Vec<String>, DbErr> {
    query(conn, engine, sql)
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// PostgreSQL names a table's primary key and its id sequence after the table, and those names
/// are unique in the schema: give the moved Flask table's objects its new name, so that our own
/// `doctors` can have `doctors_pkey` and `doctors_doctor_id_seq`.
pub async fn rename_postgres_objects(
    conn: &impl ConnectionTrait,
    table: &str,
    id: &str,
) -> Result<(), DbErr> {
    let moved = flask_name(table);
    let constraints = query_texts(
        conn,
        Engine::Postgres,
        &format!(
            "SELECT CAST(conname AS TEXT) FROM pg_constraint \
             WHERE conrelid = CAST('{moved}' AS regclass)"
        ),
    )
    .await?;
    for constraint in constraints
        .iter()
        .filter(|name| !name.starts_with("flask_"))
    {
        execute(
            conn,
            Engine::Postgres,
            &format!(
                "ALTER TABLE {moved} RENAME CONSTRAINT \"{constraint}\" TO \"flask_{constraint}\""
            ),
        )
        .await?;
    }
    let sequences = query_texts(
        conn,
        Engine::Postgres,
        &format!("SELECT pg_get_serial_sequence('{moved}', '{id}') WHERE pg_get_serial_sequence('{moved}', '{id}') IS NOT NULL"),
    )
    .await?;
    for sequence in sequences {
        execute(
            conn,
            Engine::Postgres,
            &format!("ALTER SEQUENCE {sequence} RENAME TO {moved}_{id}_seq"),
        )
        .await?;
    }
    Ok(())
}
