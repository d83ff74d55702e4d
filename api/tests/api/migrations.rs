//! The migrations on every database: up, down to nothing, up again; and start-up without them.

use migration::{Migrator, MigratorTrait};

use crate::helpers::{test_settings, Backend, TestApp, TestDatabase};
use crate::on_every_database;

async fn migrations_go_down_to_nothing_and_up_again(app: TestApp) {
    app.registered("before@example.com").await;
    Migrator::down(&app.db, None).await.expect("down");
    assert!(
        Migrator::get_pending_migrations(&app.db)
            .await
            .expect("status")
            .len()
            == 2
    );
    Migrator::up(&app.db, None).await.expect("up again");
    assert!(Migrator::get_pending_migrations(&app.db)
        .await
        .expect("status")
        .is_empty());
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
        Migrator::get_pending_migrations(&db)
            .await
            .expect("status")
            .len(),
        2
    );
}
