//! Races: many registrations of one email at once.

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_every_database;

async fn fifty_concurrent_registrations_of_one_email_give_one_201_and_409s(app: TestApp) {
    let app = &app;
    let attempts = (0..50).map(|i| async move {
        let body = json!({"name": format!("Racer {i}"), "email": "race@example.com", "password": PASSWORD});
        app.post_json("/auth/register", &body).await
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
        app.post_json("/auth/register", &body).await
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
