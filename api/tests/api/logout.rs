//! `POST /auth/logout`: stored in the database, seen by every instance, kept across restarts.

use crate::helpers::{TestApp, PASSWORD};
use crate::on_every_database;

async fn logout_ends_the_session_and_a_second_logout_is_token_revoked(app: TestApp) {
    let (token, _) = app.registered("bye@example.com").await;
    let reply = app.post_with_token("/auth/logout", &token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, serde_json::json!({"message": "logged out"}));
    let me = app.get_with_token("/auth/me", &token).await;
    assert_eq!(me.status, 401);
    assert_eq!(me.error(), "token_revoked");
    assert!(
        me.header("www-authenticate")
            .starts_with("Bearer error=\"invalid_token\""),
        "{}",
        me.header("www-authenticate")
    );
    let again = app.post_with_token("/auth/logout", &token).await;
    assert_eq!(again.status, 401);
    assert_eq!(again.error(), "token_revoked");
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM auth_sessions WHERE revoked_at IS NOT NULL")
            .await,
        1
    );
}

async fn logout_ends_only_its_own_session(app: TestApp) {
    app.registered("two-devices@example.com").await;
    let phone = app.login("two-devices@example.com", PASSWORD).await.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let laptop = app.login("two-devices@example.com", PASSWORD).await.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        app.post_with_token("/auth/logout", &phone).await.status,
        200
    );
    assert_eq!(app.get_with_token("/auth/me", &laptop).await.status, 200);
    assert_eq!(app.get_with_token("/auth/me", &phone).await.status, 401);
}

async fn a_logout_on_one_instance_is_refused_by_another_at_once(mut app: TestApp) {
    let (token, _) = app.registered("instances@example.com").await;
    let second = app.another_instance().await;
    let on_second = |path: &'static str| {
        app.client
            .get(format!("{second}{path}"))
            .bearer_auth(&token)
    };
    assert_eq!(
        app.send(on_second("/auth/me")).await.status,
        200,
        "the second instance accepts the token"
    );
    assert_eq!(
        app.post_with_token("/auth/logout", &token).await.status,
        200
    );
    let reply = app.send(on_second("/auth/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "token_revoked");
}

async fn tokens_survive_a_restart_and_so_does_a_logout(mut app: TestApp) {
    let (kept, _) = app.registered("restart@example.com").await;
    let ended = app.login("restart@example.com", PASSWORD).await.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        app.post_with_token("/auth/logout", &ended).await.status,
        200
    );
    app.restart().await;
    assert_eq!(
        app.get_with_token("/auth/me", &kept).await.status,
        200,
        "a valid token works after a restart"
    );
    let reply = app.get_with_token("/auth/me", &ended).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.error(),
        "token_revoked",
        "a logout holds after a restart"
    );
}

on_every_database!(
    logout_ends_the_session_and_a_second_logout_is_token_revoked,
    logout_ends_only_its_own_session,
    a_logout_on_one_instance_is_refused_by_another_at_once,
    tokens_survive_a_restart_and_so_does_a_logout,
);
