//! The audit trail: each action writes exactly its event (who, which session, why, the request id
//! and the IP) in the action's transaction; nothing secret reaches the table; the `audit` command
//! prints a patient's trail, which outlives the patient.

use chrono::Duration;
use entity::audit_event;
use entity::prelude::AuditEvent;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{json, Value};

use crate::binary::command;
use crate::helpers::{Reply, TestApp, JWT_SECRET, PASSWORD};
use crate::on_every_database;

/// Where the test client's requests come from.
const IP: &str = "127.0.0.1";

/// Every event, oldest first.
async fn events(app: &TestApp) -> Vec<audit_event::Model> {
    AuditEvent::find()
        .order_by_asc(audit_event::Column::AuditEventId)
        .all(&app.db)
        .await
        .expect("audit events")
}

/// Runs `action`, asserts it added exactly one event, and returns that event.
async fn the_one_event_of<F>(app: &TestApp, action: F) -> (Reply, audit_event::Model)
where
    F: std::future::Future<Output = Reply>,
{
    let before = events(app).await.len();
    let reply = action.await;
    let mut after = events(app).await;
    assert_eq!(
        after.len(),
        before + 1,
        "exactly one event for this action: {after:#?}"
    );
    let event = after.pop().expect("the new event");
    (reply, event)
}

/// `POST path` with a JSON body and `X-Request-Id: request_id`, optionally with a bearer token.
async fn post(
    app: &TestApp,
    path: &str,
    request_id: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("x-request-id", request_id);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// The session id (`sid`) of an access token.
fn sid(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json");
    claims["sid"].as_str().expect("sid").to_owned()
}

fn text(reply: &Reply, field: &str) -> String {
    reply.body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {}", reply.text))
        .to_owned()
}

/// Asserts an event's columns.
fn assert_event(
    event: &audit_event::Model,
    code: &str,
    patient_id: Option<i64>,
    session_id: Option<&str>,
    reason: Option<&str>,
    request_id: &str,
) {
    assert_eq!(event.event, code, "{event:?}");
    assert_eq!(event.patient_id.map(i64::from), patient_id, "{event:?}");
    assert_eq!(event.session_id.as_deref(), session_id, "{event:?}");
    assert_eq!(event.reason.as_deref(), reason, "{event:?}");
    assert_eq!(event.request_id.as_deref(), Some(request_id), "{event:?}");
    assert_eq!(event.ip.as_deref(), Some(IP), "{event:?}");
}

async fn registration_and_login_are_recorded_with_their_session(app: TestApp) {
    let body = json!({"name": "Amina", "email": "amina@example.com", "password": PASSWORD});
    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/register", "req-register", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let patient_id = reply.body["patient"]["patient_id"].as_i64();
    let token = text(&reply, "token");
    assert_event(
        &event,
        "register",
        patient_id,
        Some(&sid(&token)),
        None,
        "req-register",
    );

    let body = json!({"email": "amina@example.com", "password": PASSWORD});
    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/login", "req-login", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "login_succeeded",
        patient_id,
        Some(&sid(&text(&reply, "token"))),
        None,
        "req-login",
    );

    // Without a client id, the one the server made (and sent back) is recorded.
    let (reply, event) = the_one_event_of(&app, app.login("amina@example.com", PASSWORD)).await;
    assert_eq!(
        event.request_id.as_deref(),
        Some(reply.header("x-request-id"))
    );
}

async fn failed_logins_record_why_but_never_the_identifier_typed(app: TestApp) {
    let (_, patient_id) = app.registered("omar@example.com").await;
    let typed = "My-Password-In-The-Email-Box-77";

    let body = json!({"email": typed, "password": "whatever-it-was"});
    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/login", "req-unknown", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_event(
        &event,
        "login_failed",
        None,
        None,
        Some("unknown_account"),
        "req-unknown",
    );

    let body = json!({"username": typed, "password": "whatever-it-was"});
    let (_, event) = the_one_event_of(
        &app,
        post(
            &app,
            "/auth/login",
            "req-unknown-username",
            None,
            Some(body),
        ),
    )
    .await;
    assert_event(
        &event,
        "login_failed",
        None,
        None,
        Some("unknown_account"),
        "req-unknown-username",
    );

    let body = json!({"email": "omar@example.com", "password": "not-his-password"});
    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/login", "req-wrong", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_event(
        &event,
        "login_failed",
        Some(patient_id),
        None,
        Some("wrong_password"),
        "req-wrong",
    );

    let everything = format!("{:?}", events(&app).await).to_lowercase();
    assert!(
        !everything.contains(&typed.to_lowercase()),
        "the identifier typed for an unknown account is stored: {everything}"
    );
}

async fn session_actions_are_recorded_with_the_session_they_concern(app: TestApp) {
    let registered = app.register("Sara", "sara@example.com", PASSWORD).await;
    let patient_id = registered.body["patient"]["patient_id"].as_i64();
    let first = text(&registered, "token");
    let first_refresh = text(&registered, "refresh_token");
    let second = text(&app.login("sara@example.com", PASSWORD).await, "token");
    let third = text(&app.login("sara@example.com", PASSWORD).await, "token");

    let me = app
        .client
        .get(format!("{}/auth/me", app.address))
        .header("x-request-id", "req-me")
        .bearer_auth(&first);
    let (reply, event) = the_one_event_of(&app, app.send(me)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "profile_read",
        patient_id,
        Some(&sid(&first)),
        None,
        "req-me",
    );

    let body = json!({"refresh_token": first_refresh});
    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/refresh", "req-refresh", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "refresh",
        patient_id,
        Some(&sid(&first)),
        None,
        "req-refresh",
    );

    let end = app
        .client
        .delete(format!("{}/auth/sessions/{}", app.address, sid(&third)))
        .header("x-request-id", "req-end")
        .bearer_auth(&second);
    let (reply, event) = the_one_event_of(&app, app.send(end)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "session_ended",
        patient_id,
        Some(&sid(&third)),
        None,
        "req-end",
    );

    // A wrong current password (a stolen access token guessing) is recorded, like a failed login.
    let wrong =
        json!({"current_password": "not-the-password", "new_password": "a-brand-new-passphrase"});
    let (reply, event) = the_one_event_of(
        &app,
        post(
            &app,
            "/auth/change-password",
            "req-wrong-password",
            Some(&second),
            Some(wrong),
        ),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_event(
        &event,
        "password_change_failed",
        patient_id,
        Some(&sid(&second)),
        Some("wrong_password"),
        "req-wrong-password",
    );

    let body = json!({"current_password": PASSWORD, "new_password": "a-brand-new-passphrase"});
    let (reply, event) = the_one_event_of(
        &app,
        post(
            &app,
            "/auth/change-password",
            "req-password",
            Some(&second),
            Some(body),
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "password_changed",
        patient_id,
        Some(&sid(&second)),
        None,
        "req-password",
    );
    let second = text(&reply, "token");

    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/logout", "req-logout", Some(&second), None),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "logout",
        patient_id,
        Some(&sid(&second)),
        None,
        "req-logout",
    );

    let fourth = text(
        &app.login("sara@example.com", "a-brand-new-passphrase")
            .await,
        "token",
    );
    let (reply, event) = the_one_event_of(
        &app,
        post(
            &app,
            "/auth/logout-all",
            "req-logout-all",
            Some(&fourth),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_event(
        &event,
        "logout_all",
        patient_id,
        Some(&sid(&fourth)),
        None,
        "req-logout-all",
    );

    // A refused request did nothing, so it records nothing.
    let before = events(&app).await.len();
    assert_eq!(app.get_with_token("/auth/me", &fourth).await.status, 401);
    assert_eq!(events(&app).await.len(), before);
}

async fn a_reused_refresh_token_is_recorded_although_the_answer_is_401(app: TestApp) {
    let registered = app.register("Ali", "ali@example.com", PASSWORD).await;
    let patient_id = registered.body["patient"]["patient_id"].as_i64();
    let token = text(&registered, "token");
    let refresh_token = text(&registered, "refresh_token");
    let body = json!({"refresh_token": refresh_token});
    assert_eq!(
        app.post_json("/auth/refresh", &body).await.status,
        200,
        "first use"
    );
    app.clock.advance(Duration::seconds(10));

    let (reply, event) = the_one_event_of(
        &app,
        post(&app, "/auth/refresh", "req-reuse", None, Some(body)),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_event(
        &event,
        "refresh_reuse_detected",
        patient_id,
        Some(&sid(&token)),
        None,
        "req-reuse",
    );
    let reason = app
        .sql_text(&format!(
            "SELECT revoked_reason FROM auth_sessions WHERE session_id = '{}'",
            sid(&token)
        ))
        .await;
    assert_eq!(reason, "refresh_reuse", "the session end committed too");
}

async fn no_password_token_or_hash_reaches_the_audit_table(app: TestApp) {
    let registered = app.register("Lina", "lina@example.com", PASSWORD).await;
    let first_hash = app
        .sql_text("SELECT password_hash FROM patients WHERE email = 'lina@example.com'")
        .await;
    let mut secrets = vec![
        PASSWORD.to_owned(),
        first_hash,
        text(&registered, "token"),
        text(&registered, "refresh_token"),
    ];
    let wrong = app.login("lina@example.com", "Wrong-Secret-Pass-43").await;
    assert_eq!(wrong.status, 401);
    secrets.push("Wrong-Secret-Pass-43".into());
    let login = app.login("lina@example.com", PASSWORD).await;
    let token = text(&login, "token");
    assert_eq!(app.get_with_token("/auth/me", &token).await.status, 200);
    let refreshed = app
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": text(&login, "refresh_token")}),
        )
        .await;
    let token = text(&refreshed, "token");
    let new_password = "Another-Secret-Pass-44";
    let changed = post(
        &app,
        "/auth/change-password",
        "req",
        Some(&token),
        Some(json!({"current_password": PASSWORD, "new_password": new_password})),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let new_hash = app
        .sql_text("SELECT password_hash FROM patients WHERE email = 'lina@example.com'")
        .await;
    secrets.extend([
        text(&login, "token"),
        text(&login, "refresh_token"),
        text(&refreshed, "refresh_token"),
        token.clone(),
        text(&changed, "token"),
        text(&changed, "refresh_token"),
        new_password.to_owned(),
        new_hash,
    ]);
    assert_eq!(
        app.post_with_token("/auth/logout", &text(&changed, "token"))
            .await
            .status,
        200
    );

    let rows = events(&app).await;
    assert!(rows.len() >= 7, "{rows:#?}");
    // Every column of every row, through the entity that maps them all.
    let everything = format!("{rows:?}");
    for secret in &secrets {
        assert!(
            !everything.contains(secret.as_str()),
            "a secret reached the audit table: {secret}"
        );
        // Nor any JWT part (header, claims, signature) on its own.
        for part in secret.split('.').filter(|part| part.len() > 20) {
            assert!(!everything.contains(part), "a token part is stored");
        }
    }
}

async fn an_action_whose_record_cannot_be_written_does_not_happen(app: TestApp) {
    let (token, _) = app.registered("no-record@example.com").await;
    let sessions = "SELECT COUNT(*) FROM auth_sessions WHERE revoked_at IS NULL";
    assert_eq!(app.sql_count(sessions).await, 1);
    app.operator_sql("DROP TABLE audit_events").await;

    let login = app.login("no-record@example.com", PASSWORD).await;
    assert_eq!(login.status, 500, "{}", login.text);
    let logout = app.post_with_token("/auth/logout", &token).await;
    assert_eq!(logout.status, 500, "{}", logout.text);
    let me = app.get_with_token("/auth/me", &token).await;
    assert_eq!(me.status, 500, "no profile leaves unrecorded: {}", me.text);
    let register = app.register("N", "never@example.com", PASSWORD).await;
    assert_eq!(register.status, 500, "{}", register.text);

    assert_eq!(
        app.sql_count(sessions).await,
        1,
        "no session opened or ended without its record"
    );
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 1);
}

/// Runs `patient-auth audit` against the test's database.
async fn audit_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    command(
        dir.path(),
        &[
            ("DATABASE_URL", app.database.url.as_str()),
            ("JWT_SECRET", JWT_SECRET),
        ],
    )
    .arg("audit")
    .args(args)
    .output()
    .await
    .expect("runs")
}

fn stdout(output: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

async fn the_audit_command_prints_a_patients_events_newest_first(app: TestApp) {
    let (token, patient_id) = app.registered("cli@example.com").await;
    assert_eq!(
        app.login("cli@example.com", "not-the-password")
            .await
            .status,
        401
    );
    let me = app
        .client
        .get(format!("{}/auth/me", app.address))
        .header("x-request-id", "req-cli-me")
        .bearer_auth(&token);
    assert_eq!(app.send(me).await.status, 200);

    let table = stdout(&audit_command(&app, &["--patient", "CLI@example.com"]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("OCCURRED AT (UTC)"), "{table}");
    let event_column = lines[0].find("EVENT").expect("EVENT heading");
    let reason_column = lines[0].find("REASON").expect("REASON heading");
    let events_shown: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line[event_column..].split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        events_shown,
        ["profile_read", "login_failed", "register"],
        "{table}"
    );
    assert!(
        lines[2][reason_column..].starts_with("wrong_password"),
        "{table}"
    );
    assert!(
        lines[1].contains("req-cli-me") && lines[1].contains(IP),
        "{table}"
    );

    let id = patient_id.to_string();
    let json_lines =
        stdout(&audit_command(&app, &["--patient", &id, "--limit", "2", "--json"]).await);
    let parsed: Vec<Value> = json_lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(parsed.len(), 2, "{json_lines}");
    assert_eq!(parsed[0]["event"], "profile_read");
    assert_eq!(parsed[0]["request_id"], "req-cli-me");
    assert_eq!(parsed[0]["patient_id"], patient_id);
    assert_eq!(parsed[1]["reason"], "wrong_password");

    // The trail outlives the patient: found by id after the row is gone.
    app.sql(&format!(
        "DELETE FROM patients WHERE patient_id = {patient_id}"
    ))
    .await;
    let after = stdout(&audit_command(&app, &["--patient", &id]).await);
    assert_eq!(after.lines().count(), 4, "{after}");
}

async fn the_audit_command_refuses_an_unknown_patient(app: TestApp) {
    for unknown in ["nobody@example.com", "424242"] {
        let output = audit_command(&app, &["--patient", unknown]).await;
        assert!(!output.status.success(), "{unknown} is refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("no patient with"), "{stderr}");
    }
}

on_every_database!(
    registration_and_login_are_recorded_with_their_session,
    failed_logins_record_why_but_never_the_identifier_typed,
    session_actions_are_recorded_with_the_session_they_concern,
    a_reused_refresh_token_is_recorded_although_the_answer_is_401,
    an_action_whose_record_cannot_be_written_does_not_happen,
    no_password_token_or_hash_reaches_the_audit_table,
    the_audit_command_prints_a_patients_events_newest_first,
    the_audit_command_refuses_an_unknown_patient,
);
