//! Logout everywhere, password change, the session list, ending one session, clean-up.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;
use service::AuthService;

use crate::helpers::{test_settings, Reply, TestApp, PASSWORD};
use crate::on_every_database;

async fn login_from(app: &TestApp, email: &str, user_agent: &str) -> Reply {
    let request = app
        .client
        .post(format!("{}/auth/login", app.address))
        .header("user-agent", user_agent)
        .json(&json!({"email": email, "password": PASSWORD}));
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
}

fn token(reply: &Reply) -> String {
    reply.body["token"].as_str().expect("token").to_owned()
}

fn refresh_token(reply: &Reply) -> String {
    reply.body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

async fn logout_all_ends_every_session_on_every_instance(mut app: TestApp) {
    let (first, _) = app.registered("everywhere@example.com").await;
    let phone = login_from(&app, "everywhere@example.com", "Phone").await;
    let laptop = login_from(&app, "everywhere@example.com", "Laptop").await;
    let second = app.another_instance().await;
    let reply = app
        .post_with_token("/auth/logout-all", &token(&phone))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["message"].is_string());
    for access in [first, token(&phone), token(&laptop)] {
        let me = app
            .send(
                app.client
                    .get(format!("{second}/auth/me"))
                    .bearer_auth(&access),
            )
            .await;
        assert_eq!(
            (me.status, me.error()),
            (401, "token_revoked"),
            "seen by the other instance at once"
        );
    }
    let refreshed = app
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token(&laptop)}),
        )
        .await;
    assert_eq!(
        (refreshed.status, refreshed.error()),
        (401, "invalid_token")
    );
    assert_eq!(
        login_from(&app, "everywhere@example.com", "Phone")
            .await
            .status,
        200,
        "logging in again works"
    );
}

async fn changing_the_password_ends_every_other_session(app: TestApp) {
    app.registered("change@example.com").await;
    let here = login_from(&app, "change@example.com", "Here").await;
    let elsewhere = login_from(&app, "change@example.com", "Elsewhere").await;
    let new_password = "a-brand-new-passphrase";
    let change = |current: &str, new: &str| {
        app.send(
            app.client
                .post(format!("{}/auth/change-password", app.address))
                .bearer_auth(token(&here))
                .json(&json!({"current_password": current, "new_password": new})),
        )
    };

    let wrong = change("not-my-password", new_password).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    let weak = change(PASSWORD, "password").await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(
        weak.body["fields"]["new_password"].is_string(),
        "{}",
        weak.text
    );
    let missing = app
        .send(
            app.client
                .post(format!("{}/auth/change-password", app.address))
                .bearer_auth(token(&here))
                .json(&json!({})),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.body["fields"]["current_password"].is_string()
            && missing.body["fields"]["new_password"].is_string()
    );
    assert_eq!(
        app.get_with_token("/auth/me", &token(&elsewhere))
            .await
            .status,
        200,
        "failed attempts change nothing"
    );

    let changed = change(PASSWORD, new_password).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(changed.body["token"].is_string() && changed.body["refresh_token"].is_string());
    assert_eq!(
        app.get_with_token("/auth/me", &token(&changed))
            .await
            .status,
        200
    );
    let other = app.get_with_token("/auth/me", &token(&elsewhere)).await;
    assert_eq!((other.status, other.error()), (401, "token_revoked"));
    let other_refresh = app
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token(&elsewhere)}),
        )
        .await;
    assert_eq!(other_refresh.status, 401);
    assert_eq!(
        app.login("change@example.com", PASSWORD).await.status,
        401,
        "the old password is refused"
    );
    assert_eq!(
        app.login("change@example.com", new_password).await.status,
        200,
        "the new one is accepted"
    );
    assert_eq!(
        app.post_json(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token(&changed)})
        )
        .await
        .status,
        200
    );
}

async fn the_session_list_shows_only_the_callers_open_sessions(app: TestApp) {
    app.registered("list@example.com").await;
    app.registered("stranger@example.com").await;
    login_from(&app, "stranger@example.com", "Stranger").await;
    app.clock.advance(Duration::seconds(5));
    let phone = login_from(&app, "list@example.com", "Phone/1.0").await;
    app.clock.advance(Duration::seconds(5));
    let laptop = login_from(&app, "list@example.com", "Laptop/2.0").await;
    let reply = app.get_with_token("/auth/sessions", &token(&laptop)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), "no-store");
    let sessions = reply.body["sessions"].as_array().expect("sessions");
    assert_eq!(
        sessions.len(),
        3,
        "registration, phone and laptop: {}",
        reply.text
    );
    assert_eq!(sessions[0]["user_agent"], "Laptop/2.0", "newest first");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[1]["user_agent"], "Phone/1.0");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for session in sessions {
        assert_eq!(session["ip"], "127.0.0.1");
        for field in ["session_id", "created_at", "last_used_at", "expires_at"] {
            assert!(session[field].is_string(), "{field}");
        }
        assert_ne!(session["user_agent"], "Stranger");
    }
    assert_eq!(
        app.post_with_token("/auth/logout", &token(&phone))
            .await
            .status,
        200
    );
    let after = app.get_with_token("/auth/sessions", &token(&laptop)).await;
    assert_eq!(
        after.body["sessions"].as_array().map(Vec::len),
        Some(2),
        "an ended session is not listed"
    );
}

async fn ending_a_session_revokes_its_tokens_and_foreign_ids_are_404(app: TestApp) {
    app.registered("owner@example.com").await;
    let (stranger, _) = app.registered("someone-else@example.com").await;
    let phone = login_from(&app, "owner@example.com", "Phone").await;
    let laptop = login_from(&app, "owner@example.com", "Laptop").await;
    let listed = app.get_with_token("/auth/sessions", &token(&laptop)).await;
    let phone_id = listed.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["user_agent"] == "Phone")
        .expect("phone")["session_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let delete = |bearer: String, id: String| {
        app.send(
            app.client
                .delete(format!("{}/auth/sessions/{id}", app.address))
                .bearer_auth(bearer),
        )
    };

    let foreign = delete(stranger.clone(), phone_id.clone()).await;
    assert_eq!(
        (foreign.status, foreign.error()),
        (404, "not_found"),
        "another patient's session"
    );
    let unknown = delete(token(&laptop), uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body, foreign.body,
        "unknown and foreign are indistinguishable"
    );
    assert_eq!(
        delete(token(&laptop), "not-a-uuid%27%20OR%201=1".into())
            .await
            .status,
        404
    );
    assert_eq!(
        app.get_with_token("/auth/me", &token(&phone)).await.status,
        200,
        "the stranger ended nothing"
    );

    let ended = delete(token(&laptop), phone_id.clone()).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert_eq!(ended.body, json!({"message": "session ended"}));
    assert_eq!(
        app.get_with_token("/auth/me", &token(&phone)).await.error(),
        "token_revoked"
    );
    assert_eq!(
        app.post_json(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token(&phone)})
        )
        .await
        .error(),
        "invalid_token"
    );
    assert_eq!(
        delete(token(&laptop), phone_id).await.status,
        404,
        "already ended"
    );
    assert_eq!(
        app.get_with_token("/auth/me", &token(&laptop)).await.status,
        200
    );
}

async fn an_ended_session_is_token_revoked_on_every_protected_route(app: TestApp) {
    let (access, _) = app.registered("everyroute@example.com").await;
    assert_eq!(
        app.post_with_token("/auth/logout", &access).await.status,
        200
    );
    let url = |path: &str| format!("{}{path}", app.address);
    let requests = [
        app.client.get(url("/auth/me")),
        app.client.post(url("/auth/logout")),
        app.client.post(url("/auth/logout-all")),
        app.client.post(url("/auth/change-password")).json(
            &json!({"current_password": PASSWORD, "new_password": "another-long-passphrase"}),
        ),
        app.client.get(url("/auth/sessions")),
        app.client
            .delete(url(&format!("/auth/sessions/{}", uuid::Uuid::new_v4()))),
    ];
    for request in requests {
        let reply = app.send(request.bearer_auth(&access)).await;
        assert_eq!(
            (reply.status, reply.error()),
            (401, "token_revoked"),
            "{}",
            reply.text
        );
    }
    assert_eq!(
        app.login("everyroute@example.com", PASSWORD).await.status,
        200,
        "the password did not change"
    );
}

async fn expired_sessions_and_refresh_tokens_are_cleaned_up(app: TestApp) {
    let (ended, _) = app.registered("cleanup@example.com").await;
    let kept = login_from(&app, "cleanup@example.com", "Kept").await;
    assert_eq!(
        app.post_with_token("/auth/logout", &ended).await.status,
        200
    );
    let auth = AuthService::new(
        test_settings(&app.database.url, &[]).auth,
        Arc::clone(&app.clock) as Arc<dyn service::Clock>,
    )
    .expect("service");

    let report = auth.purge_expired(&app.db).await.expect("purge");
    assert_eq!(
        (report.sessions, report.refresh_tokens),
        (0, 0),
        "a just-ended session is kept so its token reads token_revoked"
    );
    app.clock.advance(Duration::minutes(61));
    let report = auth.purge_expired(&app.db).await.expect("purge");
    assert_eq!(
        report.sessions, 1,
        "the ended session, once its access tokens expired"
    );
    app.clock.advance(Duration::days(14));
    let report = auth.purge_expired(&app.db).await.expect("purge");
    assert_eq!(
        (report.sessions, report.refresh_tokens),
        (1, 1),
        "the expired one, and its refresh token"
    );
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM auth_sessions").await, 0);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM refresh_tokens").await,
        0
    );
    drop(kept);
}

on_every_database!(
    logout_all_ends_every_session_on_every_instance,
    changing_the_password_ends_every_other_session,
    the_session_list_shows_only_the_callers_open_sessions,
    ending_a_session_revokes_its_tokens_and_foreign_ids_are_404,
    an_ended_session_is_token_revoked_on_every_protected_route,
    expired_sessions_and_refresh_tokens_are_cleaned_up,
);
