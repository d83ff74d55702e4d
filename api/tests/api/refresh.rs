//! `POST /auth/refresh`: rotation, theft detection, the race, expiry and bad input.

use chrono::Duration;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp, PASSWORD};
use crate::on_every_database;

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.post_json("/auth/refresh", &json!({ "refresh_token": token }))
        .await
}

fn pair(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let access = reply.body["token"].as_str().expect("token").to_owned();
    let refresh = reply.body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    (access, refresh)
}

async fn registered_pair(app: &TestApp, email: &str) -> (String, String) {
    let reply = app.register("R", email, PASSWORD).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    (
        reply.body["token"].as_str().expect("token").to_owned(),
        reply.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    )
}

fn sid(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json");
    claims["sid"].clone()
}

async fn each_refresh_returns_a_new_pair_in_the_same_session(app: TestApp) {
    let (access, first) = registered_pair(&app, "rotate@example.com").await;
    let reply = refresh(&app, &first).await;
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["patient"]["email"], "rotate@example.com");
    let (access2, second) = pair(&reply);
    assert_ne!(second, first);
    assert_ne!(access2, access);
    assert_eq!(sid(&access2), sid(&access), "the session stays the same");
    assert_eq!(app.get_with_token("/auth/me", &access2).await.status, 200);
    let (_, third) = pair(&refresh(&app, &second).await);
    assert_ne!(third, second);
}

async fn a_consumed_refresh_token_presented_again_ends_the_whole_session(app: TestApp) {
    let (access, first) = registered_pair(&app, "theft@example.com").await;
    let (access2, second) = pair(&refresh(&app, &first).await);
    app.clock.advance(Duration::seconds(3));
    let reuse = refresh(&app, &first).await;
    assert_eq!(
        (reuse.status, reuse.error()),
        (401, "invalid_token"),
        "{}",
        reuse.text
    );
    for token in [&access, &access2] {
        let me = app.get_with_token("/auth/me", token).await;
        assert_eq!((me.status, me.error()), (401, "token_revoked"));
    }
    let next = refresh(&app, &second).await;
    assert_eq!(
        (next.status, next.error()),
        (401, "invalid_token"),
        "the thief's successor dies too"
    );
    assert_eq!(
        app.sql_text("SELECT revoked_reason FROM auth_sessions")
            .await,
        "refresh_reuse"
    );
}

async fn parallel_refreshes_with_one_token_have_exactly_one_winner(app: TestApp) {
    let (_, first) = registered_pair(&app, "race@example.com").await;
    let app_ref = &app;
    let first_ref = &first;
    let replies = join_all((0..10).map(|_| async move { refresh(app_ref, first_ref).await })).await;
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    let losers = replies
        .iter()
        .filter(|r| r.status == 401 && r.error() == "invalid_token")
        .count();
    assert_eq!(
        (winners.len(), losers),
        (1, 9),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.text.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM refresh_tokens WHERE consumed_at IS NULL")
            .await,
        1,
        "one valid successor"
    );
    let (_, winner_refresh) = pair(winners[0]);
    assert_eq!(
        refresh(&app, &winner_refresh).await.status,
        200,
        "losing the race does not end the session"
    );
}

async fn a_refresh_token_expires_after_its_lifetime_and_refreshing_slides_it(app: TestApp) {
    let (_, first) = registered_pair(&app, "expire@example.com").await;
    app.clock.advance(Duration::days(13));
    let (_, second) = pair(&refresh(&app, &first).await);
    app.clock.advance(Duration::days(13));
    let (_, third) = pair(&refresh(&app, &second).await);
    app.clock.advance(Duration::days(14) + Duration::seconds(1));
    let expired = refresh(&app, &third).await;
    assert_eq!(
        (expired.status, expired.error()),
        (401, "invalid_token"),
        "{}",
        expired.text
    );
}

async fn bad_refresh_tokens_are_invalid_token_never_an_error(app: TestApp) {
    let (access, real) = registered_pair(&app, "bad@example.com").await;
    let long = "A".repeat(10 * 1024);
    for token in [
        "",
        "garbage",
        "💥💥💥",
        long.as_str(),
        "a'; DROP TABLE refresh_tokens;--",
        &access,
    ] {
        let reply = refresh(&app, token).await;
        assert!(
            reply.header("www-authenticate").starts_with("Bearer"),
            "every 401 carries a challenge"
        );
        assert_eq!(
            (reply.status, reply.error()),
            (401, "invalid_token"),
            "{token:.40}: {}",
            reply.text
        );
    }
    assert_eq!(app.post_json("/auth/refresh", &json!({})).await.status, 422);
    assert_eq!(
        app.post_json("/auth/refresh", &json!({"refresh_token": 42}))
            .await
            .error(),
        "invalid_json"
    );
    assert_eq!(
        app.post_with_token("/auth/logout", &access).await.status,
        200
    );
    let ended = refresh(&app, &real).await;
    assert_eq!(
        (ended.status, ended.error()),
        (401, "invalid_token"),
        "a token of an ended session"
    );
}

async fn a_reuse_within_the_grace_period_is_refused_but_keeps_the_session(app: TestApp) {
    let (_, first) = registered_pair(&app, "grace@example.com").await;
    let (access2, second) = pair(&refresh(&app, &first).await);
    app.clock.advance(Duration::seconds(1));
    let late = refresh(&app, &first).await;
    assert_eq!(
        (late.status, late.error()),
        (401, "invalid_token"),
        "{}",
        late.text
    );
    assert_eq!(app.get_with_token("/auth/me", &access2).await.status, 200);
    assert_eq!(refresh(&app, &second).await.status, 200);
}

on_every_database!(
    a_reuse_within_the_grace_period_is_refused_but_keeps_the_session,
    each_refresh_returns_a_new_pair_in_the_same_session,
    a_consumed_refresh_token_presented_again_ends_the_whole_session,
    parallel_refreshes_with_one_token_have_exactly_one_winner,
    a_refresh_token_expires_after_its_lifetime_and_refreshing_slides_it,
    bad_refresh_tokens_are_invalid_token_never_an_error,
);
