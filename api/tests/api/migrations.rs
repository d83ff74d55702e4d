//! The migrations on every database: up, down to nothing, up again; and start-up without them.

use migration::MigratorTrait;

use crate::helpers::{test_settings, Backend, TestApp, TestDatabase};
use crate::on_every_database;

async fn migrations_go_down_to_nothing_and_up_again(app: TestApp) {
    app.registered("before@example.com").await;
    // One connection, as the migration binary and start-up use: with several, a SQLite
    // connection whose schema was read before the DROPs can prepare the next CREATE INDEX
    // against the stale schema ("index ux_patients_email already exists", seen under load).
    let db = app.database.connect().await;
    migration::down(&db, None).await.expect("down");
    assert_eq!(
        migration::pending(&db).await.expect("status"),
        migration::Migrator::migrations().len()
    );
    migration::up(&db, None).await.expect("up again");
    assert_eq!(migration::pending(&db).await.expect("status"), 0);
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 0);
}

on_every_database!(migrations_go_down_to_nothing_and_up_again);

#[tokio::test]
async fn auto_migrate_false_leaves_the_schema_alone() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let settings = test_settings(&database.url, &[("AUTO_MIGRATE", "false")]);
    let db = api::startup::open_database(&settings)
        .await
        .expect("connects");
    assert_eq!(
        migration::pending(&db).await.expect("status"),
        migration::Migrator::migrations().len()
    );
}
