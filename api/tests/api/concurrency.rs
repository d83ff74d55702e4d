//! Races: many registrations of one email at once.

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{Reply, TestApp, PASSWORD};

/// Registers as a client would: a `503` (the database busy; under the load of a whole suite on
/// two cores a transaction can wait past the pool's acquire timeout, and the T-SQL server may
/// pick a deadlock victim) is tried again after a moment, at most three times. Any other answer
/// is final, so the race itself is still decided by the database alone.
async fn register_like_a_client(app: &TestApp, body: &serde_json::Value) -> Reply {
    let mut reply = app.post_json("/auth/register", body).await;
    for _ in 0..3 {
        if reply.status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        reply = app.post_json("/auth/register", body).await;
    }
    reply
}
use crate::on_every_database;

async fn fifty_concurrent_registrations_of_one_email_give_one_201_and_409s(app: TestApp) {
    let app = &app;
    let attempts = (0..50).map(|i| async move {
        let body = json!({"name": format!("Racer {i}"), "email": "race@example.com", "password": PASSWORD});
        register_like_a_client(app, &body).await
    });
    let replies = join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == 409 && r.error() == "email_taken")
        .count();
    let others: Vec<String> = replies
        .iter()
        .filter(|r| r.status != 201 && r.status != 409)
        .map(|r| format!("{} {}", r.status, r.text))
        .collect();
    assert!(others.is_empty(), "unexpected replies: {others:?}");
    assert_eq!((created, conflicts), (1, 49));
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 1);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM auth_sessions").await,
        1,
        "no half-written registration"
    );
}

async fn concurrent_registrations_of_one_username_give_one_201(app: TestApp) {
    let app = &app;
    let attempts = (0..20).map(|i| async move {
        let body = json!({"name": "N", "email": format!("user{i}@example.com"), "password": PASSWORD, "username": "popular"});
        register_like_a_client(app, &body).await
    });
    let replies = join_all(attempts).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == 409 && r.error() == "username_taken")
            .count(),
        19,
        "{:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
}

on_every_database!(
    fifty_concurrent_registrations_of_one_email_give_one_201_and_409s,
    concurrent_registrations_of_one_username_give_one_201,
);
