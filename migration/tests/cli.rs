//! The `migration` ops binary, run as an operator would on a SQLite file.

use std::path::Path;
use std::process::{Command, Output};

fn migration(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", "sqlite://ops.db")
        .output()
        .expect("migration binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn status_up_down_and_fresh_behave_as_documented() {
    let dir = tempfile::tempdir().expect("tempdir");

    let status = migration(dir.path(), &["status"]);
    assert!(status.status.success());
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("pending"))
            .count(),
        3,
        "{}",
        stdout(&status)
    );

    assert!(migration(dir.path(), &["up"]).status.success());
    let status = migration(dir.path(), &["status"]);
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("applied"))
            .count(),
        3,
        "{}",
        stdout(&status)
    );

    let refused = migration(dir.path(), &["down"]);
    assert!(!refused.status.success(), "down without --yes is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(
        !migration(dir.path(), &["fresh"]).status.success(),
        "fresh without --yes is refused"
    );

    assert!(migration(dir.path(), &["down", "--yes"]).status.success());
    let status = migration(dir.path(), &["status"]);
    assert!(
        stdout(&status).contains("pending  m20261124_000003_audit_events"),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("applied  m20261124_000002_session_tables"),
        "{}",
        stdout(&status)
    );

    assert!(migration(dir.path(), &["fresh", "--yes"]).status.success());
    let status = migration(dir.path(), &["status"]);
    assert_eq!(
        stdout(&status)
            .lines()
            .filter(|l| l.starts_with("applied"))
            .count(),
        3
    );
}

#[tokio::test]
async fn tables_left_by_the_flask_backend_stop_the_migration_loudly() {
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
        "an existing table is never silently adopted"
    );
    assert!(
        String::from_utf8_lossy(&up.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&up.stderr)
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
