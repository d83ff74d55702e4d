//! The `migration` ops binary, run as an operator would on a SQLite file.

use std::path::Path;
use std::process::{Command, Output};

fn migration(dir: &Path, args: &[&str]) -> Output {
    migration_on(dir, "sqlite://ops.db", args)
}

fn migration_on(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .output()
        .expect("migration binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn status_up_down_and_fresh_behave_as_documented() {
    let dir = tempfile::tempdir().expect("tempdir");
    up_down_status_fresh(dir.path(), "sqlite://ops.db");
}

/// How many migrations there are (the same on every engine).
fn migration_count() -> usize {
    use migration::MigratorTrait;
    migration::Migrator::migrations().len()
}

/// `status`, `up`, `down` (refused without `--yes`), `fresh`, in an operator's order.
fn up_down_status_fresh(dir: &Path, url: &str) {
    let migration = |dir: &Path, args: &[&str]| migration_on(dir, url, args);

    let status = migration(dir, &["status"]);
    assert!(status.status.success());
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("pending"))
            .count(),
        migration_count(),
        "{}",
        stdout(&status)
    );

    assert!(migration(dir, &["up"]).status.success());
    let status = migration(dir, &["status"]);
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("applied"))
            .count(),
        migration_count(),
        "{}",
        stdout(&status)
    );

    let refused = migration(dir, &["down"]);
    assert!(!refused.status.success(), "down without --yes is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(
        !migration(dir, &["fresh"]).status.success(),
        "fresh without --yes is refused"
    );

    assert!(migration(dir, &["down", "--yes"]).status.success());
    let status = migration(dir, &["status"]);
    assert!(
        stdout(&status).contains("pending  m20261203_000006_passkeys"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("applied  m20261203_000005_second_factor"),
        "{}",
        stdout(&status)
    );

    assert!(migration(dir, &["fresh", "--yes"]).status.success());
    let status = migration(dir, &["status"]);
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("applied"))
            .count(),
        migration_count()
    );
}

#[tokio::test]
#[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
async fn status_up_down_and_fresh_work_on_sql_server() {
    let Ok(admin) = std::env::var("MSSQL_URL") else {
        eprintln!("SKIPPED: MSSQL_URL is not set, so nothing ran against SQL Server");
        return;
    };
    let name = format!("pa_cli_{}", std::process::id());
    let url = sql_server_database(&admin, &name).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = std::panic::catch_unwind(|| up_down_status_fresh(dir.path(), &url));
    drop_sql_server_database(&admin, &name).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn sql_server_admin(admin: &str) -> database::Db {
    let url = database::DatabaseUrl::parse(admin).expect("MSSQL_URL");
    database::connect(&url, &database::PoolSettings::default())
        .await
        .expect("SQL Server answers")
}

/// Creates database `name` on the server of `admin`; returns its URL.
async fn sql_server_database(admin: &str, name: &str) -> String {
    use sea_orm_migration::sea_orm::ConnectionTrait;
    let db = sql_server_admin(admin).await;
    let marker = database::mssql::translate::TSQL_MARKER;
    db.execute_unprepared(&format!("{marker} CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (server, _) = base.rsplit_once('/').expect("database in MSSQL_URL");
    format!("{server}/{name}?{query}")
}

async fn drop_sql_server_database(admin: &str, name: &str) {
    use sea_orm_migration::sea_orm::ConnectionTrait;
    let db = sql_server_admin(admin).await;
    let marker = database::mssql::translate::TSQL_MARKER;
    if let Err(error) = db
        .execute_unprepared(&format!("{marker} DROP DATABASE {name}"))
        .await
    {
        eprintln!("could not drop {name}: {error}");
    }
}

#[tokio::test]
async fn some_but_not_all_contract_tables_stop_the_migration_loudly() {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database};
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ops.db").display());
    let db = Database::connect(url).await.expect("connect");
    db.execute_unprepared(
        "CREATE TABLE doctors (doctor_id INTEGER PRIMARY KEY, full_name VARCHAR(100) NOT NULL)",
    )
    .await
    .expect("create");
    db.close().await.expect("close");

    let up = migration(dir.path(), &["up"]);
    assert!(
        !up.status.success(),
        "a partial schema is never silently adopted"
    );
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(
        stderr.contains(
            "only some of the Flask tables exist; missing: caregivers, patients, prescriptions"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[tokio::test]
async fn a_flask_sqlite_database_is_announced_by_status_and_taken_over_by_up() {
    use sea_orm_migration::sea_orm::{ConnectionTrait, Database};
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("ops.db").display());
    let db = Database::connect(url).await.expect("connect");
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flask/flask_sqlite.sql"),
    )
    .expect("fixture");
    for statement in fixture.split("\n;\n") {
        let statement: String = statement
            .lines()
            .filter(|line| !line.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if !statement.trim().is_empty() && statement.trim() != ";" {
            db.execute_unprepared(&statement)
                .await
                .expect("fixture loads");
        }
    }
    db.close().await.expect("close");

    let before = stdout(&migration(dir.path(), &["status"]));
    assert!(
        before.contains("to take over: the contract tables were created by the Flask backend"),
        "{before}"
    );
    let up = migration(dir.path(), &["up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let after = stdout(&migration(dir.path(), &["status"]));
    assert_eq!(
        after.lines().filter(|l| l.starts_with("applied")).count(),
        migration_count(),
        "{after}"
    );
    assert!(
        after.contains("taken over: the tables the flask backend created, on ")
            && after.contains("(3 doctors, 2 caregivers, 5 patients, 5 prescriptions)"),
        "{after}"
    );
}

#[test]
fn a_bad_database_url_is_reported_without_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(["status"])
        .current_dir(dir.path())
        .env_clear()
        .env(
            "DATABASE_URL",
            "postgres://user:TopSecret77@127.0.0.1:1/nodb",
        )
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(!stderr.contains("TopSecret77"), "{stderr}");
}
