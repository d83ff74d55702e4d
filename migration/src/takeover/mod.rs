//! Taking over a database that the Flask backend created: its four tables (same names, its own
//! column types) are brought to our schema in place, with every row kept.
//!
//! How: the checks in [`checks`] run first and change nothing; any row our rules would refuse
//! stops the take-over with a report naming the rows. Then the Flask tables are moved aside to
//! `flask_*`, our first migration creates the contract tables exactly as on an empty database,
//! every row is copied across with its id (emails trimmed and lower-cased, empty usernames made
//! NULL, naive UTC timestamps given the engine's UTC type), the move is recorded in
//! `schema_takeover` and `seaql_migrations`, and the `flask_*` tables are dropped. On SQLite,
//! PostgreSQL and SQL Server all of it is one transaction; MySQL commits each DDL statement by
//! itself, so there a failure after the move drops what was created and moves the Flask tables
//! back.

pub mod checks;
mod engine;
mod record;
mod tables;

use std::fmt;

use database::Db;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, TransactionTrait};

pub use checks::Problem;
pub use engine::Engine;
pub use record::TakeoverRecord;

use engine::{execute, flask_name, query, query_texts};
use tables::{Kind, TABLES};

/// The take-over would break rules of our schema; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What must be mended first.
    pub problems: Vec<Problem>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the tables the Flask backend created cannot be taken over until these are mended \
             (nothing was changed):"
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Why migrations could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database refused or failed a statement.
    #[error(transparent)]
    Database(#[from] DbErr),
    /// A Flask database was found, but its rows break our rules.
    #[error("{0}")]
    TakeoverRefused(Refusal),
}

/// A database holding the Flask backend's tables, not yet taken over.
#[derive(Debug, Clone)]
pub struct FlaskTables {
    engine: Engine,
    /// Each table's columns: (lower-cased name, type as the engine names it).
    columns: Vec<(&'static str, Vec<(String, String)>)>,
}

impl FlaskTables {
    fn column_type(&self, table: &str, column: &str) -> &str {
        self.columns
            .iter()
            .find(|(name, _)| *name == table)
            .and_then(|(_, columns)| columns.iter().find(|(name, _)| name == column))
            .map_or("", |(_, kind)| kind.as_str())
    }
}

/// What a take-over did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows carried over, per table, parents first.
    pub rows: Vec<(&'static str, i64)>,
    /// Patients whose password hash is neither bcrypt nor argon2: they cannot log in until an
    /// operator sets a password.
    pub unusable_password_hashes: Vec<i32>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(table, count)| format!("{count} {table}"))
            .collect();
        write!(f, "{}", rows.join(", "))
    }
}

/// The first migration's name, which a take-over records as applied.
fn contract_migration_name() -> String {
    crate::m20261124_000001_contract_tables::Migration
        .name()
        .to_owned()
}

/// Finds the Flask backend's tables: `Some` when the contract tables exist but our first
/// migration is not recorded. Only some of them, or leftovers of an interrupted take-over, are
/// a refusal.
pub async fn detect(db: &Db) -> Result<Option<FlaskTables>, MigrationError> {
    let engine = Engine::of(db);
    let present = table_names(db).await?;
    if present.iter().any(|t| t == "seaql_migrations")
        && contract_migration_applied(db, engine).await?
    {
        return Ok(None);
    }
    let leftovers: Vec<String> = tables::names()
        .iter()
        .map(|t| flask_name(t))
        .filter(|t| present.contains(t))
        .collect();
    if !leftovers.is_empty() {
        return Err(refused(Problem::Interrupted { tables: leftovers }));
    }
    let missing: Vec<String> = tables::names()
        .iter()
        .filter(|t| !present.iter().any(|p| p == *t))
        .map(|t| (*t).to_owned())
        .collect();
    match missing.len() {
        0 => {}
        4 => return Ok(None),
        _ => return Err(refused(Problem::MissingTables { missing })),
    }
    let mut columns = Vec::new();
    for table in tables::names() {
        let rows = query(db, engine, &engine.list_columns_sql(table)).await?;
        let mut found = Vec::new();
        for row in rows {
            found.push((
                row.try_get::<String>("", "column_name")?.to_lowercase(),
                row.try_get::<String>("", "column_type")?,
            ));
        }
        columns.push((table, found));
    }
    Ok(Some(FlaskTables { engine, columns }))
}

/// The tables of the database's current schema, lower-cased.
pub async fn table_names(db: &Db) -> Result<Vec<String>, DbErr> {
    let engine = Engine::of(db);
    Ok(query_texts(db, engine, engine.list_tables_sql())
        .await?
        .into_iter()
        .map(|name| name.to_lowercase())
        .collect())
}

fn refused(problem: Problem) -> MigrationError {
    MigrationError::TakeoverRefused(Refusal {
        problems: vec![problem],
    })
}

async fn contract_migration_applied(db: &Db, engine: Engine) -> Result<bool, DbErr> {
    let applied = query_texts(
        db,
        engine,
        &format!(
            "SELECT version FROM seaql_migrations WHERE version = '{}'",
            contract_migration_name()
        ),
    )
    .await?;
    Ok(!applied.is_empty())
}

/// Runs the checks alone: what stops a take-over of `flask`, if anything.
pub async fn check(db: &Db, flask: &FlaskTables) -> Result<Vec<Problem>, DbErr> {
    let names: Vec<(&'static str, Vec<String>)> = flask
        .columns
        .iter()
        .map(|(table, columns)| (*table, columns.iter().map(|(n, _)| n.clone()).collect()))
        .collect();
    checks::run(db, flask.engine, &names).await
}

/// Checks, then takes over the Flask tables (see the module's documentation).
pub async fn take_over(db: &Db, flask: &FlaskTables) -> Result<Summary, MigrationError> {
    let problems = check(db, flask).await?;
    if !problems.is_empty() {
        return Err(MigrationError::TakeoverRefused(Refusal { problems }));
    }
    let engine = flask.engine;
    if engine.has_transactional_ddl() {
        let transaction = db.begin().await?;
        let summary = convert(&SchemaManager::new(&transaction), flask).await?;
        drop_flask_tables(&transaction, engine).await?;
        transaction.commit().await?;
        return Ok(summary);
    }
    let connection = db.for_migrations().await?;
    let manager = SchemaManager::new(&connection);
    match convert(&manager, flask).await {
        Ok(summary) => {
            if let Err(error) = drop_flask_tables(&connection, engine).await {
                log::warn!(
                    "the take-over is complete, but the moved Flask tables (flask_*) could not \
                     be dropped: {error}; drop them by hand"
                );
            }
            Ok(summary)
        }
        Err(error) => {
            if let Err(undo) = move_back(&connection, engine).await {
                log::error!(
                    "the take-over failed ({error}) and could not be undone ({undo}): the \
                     Flask rows are in the flask_* tables; see `migration status`"
                );
            }
            Err(error.into())
        }
    }
}

/// Moves the Flask tables aside, creates ours, copies every row and records the take-over.
async fn convert(manager: &SchemaManager<'_>, flask: &FlaskTables) -> Result<Summary, DbErr> {
    let conn = manager.get_connection();
    let engine = flask.engine;
    for statement in engine.rename_sql(&tables::names()) {
        execute(conn, engine, &statement).await?;
    }
    if engine == Engine::Postgres {
        for table in TABLES {
            engine::rename_postgres_objects(conn, table.name, table.id).await?;
        }
    }
    create_contract_tables(manager, engine).await?;
    let mut rows = Vec::new();
    for table in TABLES {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let values: Vec<String> = table
            .columns
            .iter()
            .map(|column| carried_value(flask, table.name, column.name, column.kind))
            .collect();
        let insert = format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            table.name,
            columns.join(", "),
            values.join(", "),
            flask_name(table.name)
        );
        execute(conn, engine, &engine.with_explicit_ids(table.name, insert)).await?;
        if let Some(continue_ids) = engine.continue_ids_sql(table.name, table.id) {
            query(conn, engine, &continue_ids).await?;
        }
        rows.push((table.name, count_rows(conn, engine, table.name).await?));
    }
    let summary = Summary {
        rows,
        unusable_password_hashes: unusable_password_hashes(conn, engine).await?,
    };
    record::write(manager, engine, &summary.to_string()).await?;
    record_contract_migration(conn, engine).await?;
    Ok(summary)
}

/// The value a column takes in our table, as an expression over the moved Flask table.
fn carried_value(flask: &FlaskTables, table: &str, column: &str, kind: Kind) -> String {
    match kind {
        Kind::Email => tables::NORMALISED_EMAIL.to_owned(),
        Kind::Username => {
            format!("CASE WHEN LTRIM(RTRIM({column})) = '' THEN NULL ELSE {column} END")
        }
        Kind::Timestamp => flask
            .engine
            .timestamp_from_flask(column, flask.column_type(table, column)),
        Kind::Plain | Kind::Date | Kind::Reference(..) => column.to_owned(),
    }
}

async fn create_contract_tables(manager: &SchemaManager<'_>, engine: Engine) -> Result<(), DbErr> {
    if engine == Engine::SqlServer {
        crate::mssql::create_contract_tables(manager).await
    } else {
        crate::m20261124_000001_contract_tables::Migration
            .up(manager)
            .await
    }
}

async fn count_rows(
    conn: &impl ConnectionTrait,
    engine: Engine,
    table: &str,
) -> Result<i64, DbErr> {
    let count = if engine == Engine::SqlServer {
        "COUNT_BIG(*)"
    } else {
        "COUNT(*)"
    };
    let rows = query(conn, engine, &format!("SELECT {count} FROM {table}")).await?;
    rows.first()
        .map_or(Ok(0), |row| row.try_get_by_index::<i64>(0))
}

async fn unusable_password_hashes(
    conn: &impl ConnectionTrait,
    engine: Engine,
) -> Result<Vec<i32>, DbErr> {
    query(
        conn,
        engine,
        "SELECT patient_id FROM patients WHERE password_hash NOT LIKE '$2_$%' \
         AND password_hash NOT LIKE '$argon2%' ORDER BY patient_id",
    )
    .await?
    .iter()
    .map(|row| row.try_get_by_index::<i32>(0))
    .collect()
}

/// Records our first migration as applied: the tables are now exactly what it creates.
async fn record_contract_migration(
    conn: &impl ConnectionTrait,
    engine: Engine,
) -> Result<(), DbErr> {
    if engine == Engine::SqlServer {
        crate::mssql::MssqlMigrator::install(conn).await?;
    } else {
        crate::Migrator::install(conn).await?;
    }
    let applied_at = unix_now_seconds();
    execute(
        conn,
        engine,
        &format!(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{}', {applied_at})",
            contract_migration_name()
        ),
    )
    .await
}

fn unix_now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            <i64 as TryFrom<u64>>::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

async fn drop_flask_tables(conn: &impl ConnectionTrait, engine: Engine) -> Result<(), DbErr> {
    for table in tables::names().iter().rev() {
        execute(conn, engine, &format!("DROP TABLE {}", flask_name(table))).await?;
    }
    Ok(())
}

/// MySQL only: undoes a take-over that failed after the Flask tables were moved.
async fn move_back(conn: &impl ConnectionTrait, engine: Engine) -> Result<(), DbErr> {
    let present = query_texts(conn, engine, engine.list_tables_sql()).await?;
    if !tables::names().iter().any(|t| {
        present
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&flask_name(t)))
    }) {
        return Ok(());
    }
    let forget = format!(
        "DELETE FROM seaql_migrations WHERE version = '{}'",
        contract_migration_name()
    );
    if let Err(error) = execute(conn, engine, &forget).await {
        // A failure before the migration was recorded leaves nothing to forget (the table may
        // not even exist yet).
        log::debug!("undoing the take-over: nothing recorded to forget ({error})");
    }
    record::drop_if_exists(conn, engine).await?;
    for table in tables::names().iter().rev() {
        execute(conn, engine, &format!("DROP TABLE IF EXISTS {table}")).await?;
    }
    let back: Vec<String> = tables::names()
        .iter()
        .map(|t| format!("{} TO {t}", flask_name(t)))
        .collect();
    execute(conn, engine, &format!("RENAME TABLE {}", back.join(", "))).await
}

/// Where a database stands with the Flask take-over, for `migration status`.
#[derive(Debug)]
pub enum TakeoverStatus {
    /// No Flask tables, and no take-over recorded.
    NotApplicable,
    /// Flask tables were found; `up` will take them over (or, with problems, refuse).
    Pending(Vec<Problem>),
    /// A take-over was done.
    Done(TakeoverRecord),
}

/// Where `db` stands with the Flask take-over.
pub async fn status(db: &Db) -> Result<TakeoverStatus, MigrationError> {
    if let Some(done) = record::read(db, Engine::of(db)).await? {
        return Ok(TakeoverStatus::Done(done));
    }
    match detect(db).await {
        Ok(Some(flask)) => Ok(TakeoverStatus::Pending(check(db, &flask).await?)),
        Ok(None) => Ok(TakeoverStatus::NotApplicable),
        Err(MigrationError::TakeoverRefused(refusal)) => {
            Ok(TakeoverStatus::Pending(refusal.problems))
        }
        Err(error) => Err(error),
    }
}
