//! The second factor over HTTP, on every database: setting up an authenticator app, the login's
//! second step, each code once, the per-account lock, recovery codes, and turning it off.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Duration;
use serde_json::{json, Value};
use service::mfa::totp::code_from_base32;

use crate::helpers::{spawn_app_with, Backend, Reply, TestApp, TestDatabase, PASSWORD};
use crate::mail_server::SmtpSink;
use crate::on_every_database;

/// The code the stand-in authenticator shows at the app's clock, `offset` seconds away.
fn code(app: &TestApp, secret: &str, offset: i64) -> String {
    use service::Clock;
    code_from_base32(secret, app.clock.now().timestamp() + offset).expect("a code")
}

/// Registers `email`, sets up and confirms an app; returns (access token, secret, recovery codes).
async fn with_totp(app: &TestApp, email: &str) -> (String, String, Vec<String>) {
    let (token, _) = app.registered(email).await;
    let setup = app.post_with_token("/auth/mfa/totp/setup", &token).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let confirmed = post_auth(
        app,
        "/auth/mfa/totp/confirm",
        &token,
        json!({"code": code(app, &secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    (token, secret, codes)
}

async fn post_auth(app: &TestApp, path: &str, token: &str, body: Value) -> Reply {
    app.send(
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// Logs in and returns the `mfa_token` of the second step.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let login = app.login(email, PASSWORD).await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["mfa_required"], json!(true), "{}", login.text);
    assert!(
        login.body.get("token").is_none(),
        "no tokens before the second factor"
    );
    login.body["mfa_token"]
        .as_str()
        .expect("mfa_token")
        .to_owned()
}

async fn verify(app: &TestApp, mfa_token: &str, factor: Value) -> Reply {
    let mut body = json!({"mfa_token": mfa_token});
    if let (Value::Object(body), Value::Object(factor)) = (&mut body, factor) {
        body.extend(factor);
    }
    app.post_json("/auth/mfa/verify", &body).await
}

/// The `amr` claim of an access token (read without checking; the server checked it).
fn amr(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json");
    claims["amr"].clone()
}

async fn codes_turn_on_after_one_valid_code_and_the_secret_is_sealed(app: TestApp) {
    let (token, _) = app.registered("enrol@example.com").await;
    let setup = app.post_with_token("/auth/mfa/totp/setup", &token).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().expect("secret").to_owned();
    let uri = setup.body["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/patient-auth:enrol%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")));
    assert!(setup.body["qr_svg"]
        .as_str()
        .expect("svg")
        .starts_with("<svg"));
    let sealed = app.sql_text("SELECT secret_sealed FROM mfa_totp").await;
    assert!(
        !sealed.contains(&secret),
        "the database row does not hold the secret"
    );
    // Not on until confirmed: a login still signs in at once.
    assert!(app.login("enrol@example.com", PASSWORD).await.body["token"].is_string());
    let wrong = post_auth(
        &app,
        "/auth/mfa/totp/confirm",
        &token,
        json!({"code": "000000"}),
    )
    .await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    let confirmed = post_auth(
        &app,
        "/auth/mfa/totp/confirm",
        &token,
        json!({"code": code(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = confirmed.body["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let stored = app
        .sql_count("SELECT COUNT(*) FROM mfa_recovery_codes")
        .await;
    assert_eq!(stored, 10);
    for code in codes {
        let code = code.as_str().expect("code");
        assert_eq!(
            app.sql_count(&format!(
                "SELECT COUNT(*) FROM mfa_recovery_codes WHERE code_hash LIKE '%{code}%'"
            ))
            .await,
            0,
            "only keyed hashes are stored"
        );
    }
    let status = app.get_with_token("/auth/mfa", &token).await;
    assert_eq!(
        status.body,
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0})
    );
    let again = app.post_with_token("/auth/mfa/totp/setup", &token).await;
    assert_eq!((again.status, again.error()), (409, "mfa_already_enabled"));
}

async fn the_password_alone_gets_only_a_second_step(app: TestApp) {
    let (_, secret, _) = with_totp(&app, "two@example.com").await;
    app.registered("one@example.com").await;
    // A wrong password answers exactly as on an account without a factor.
    let with = app.login("two@example.com", "not-the-password").await;
    let without = app.login("one@example.com", "not-the-password").await;
    assert_eq!((with.status, &with.body), (without.status, &without.body));
    assert_eq!(with.status, 401);

    let mfa = mfa_token(&app, "two@example.com").await;
    assert_eq!(mfa.len(), 43);
    for path in ["/auth/me", "/auth/sessions", "/auth/mfa"] {
        let refused = app.get_with_token(path, &mfa).await;
        assert_eq!(
            (refused.status, refused.error()),
            (401, "invalid_token"),
            "{path}"
        );
    }
    app.clock.advance(Duration::seconds(30));
    let signed_in = verify(&app, &mfa, json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let token = signed_in.body["token"].as_str().expect("token");
    assert_eq!(amr(token), json!(["pwd", "otp"]));
    let sessions = app.get_with_token("/auth/sessions", token).await;
    let current = sessions.body["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == json!(true))
        .expect("current")
        .clone();
    assert_eq!(current["amr"], json!(["pwd", "otp"]));
    // The mfa_token worked once; the code too.
    let reused = verify(&app, &mfa, json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!((reused.status, reused.error()), (401, "invalid_token"));
    let replay = verify(
        &app,
        &mfa_token(&app, "two@example.com").await,
        json!({"code": code(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(
        (replay.status, replay.error()),
        (401, "invalid_credentials"),
        "a code works once"
    );
    // A refresh keeps the factors the session was opened with.
    let refreshed = app
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": signed_in.body["refresh_token"]}),
        )
        .await;
    assert_eq!(
        amr(refreshed.body["token"].as_str().expect("token")),
        json!(["pwd", "otp"])
    );
    // Another patient's token, and an expired one.
    let (_, other_secret, _) = with_totp(&app, "other@example.com").await;
    app.clock.advance(Duration::seconds(90));
    let theirs = verify(
        &app,
        &mfa_token(&app, "two@example.com").await,
        json!({"code": code(&app, &other_secret, 0)}),
    )
    .await;
    assert_eq!(
        (theirs.status, theirs.error()),
        (401, "invalid_credentials")
    );
    let stale = mfa_token(&app, "two@example.com").await;
    app.clock.advance(Duration::minutes(6));
    let expired = verify(&app, &stale, json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!((expired.status, expired.error()), (401, "invalid_token"));
    // Password logins without a factor say so too.
    let plain = app.login("one@example.com", PASSWORD).await;
    assert_eq!(
        amr(plain.body["token"].as_str().expect("token")),
        json!(["pwd"])
    );
}

async fn codes_allow_one_step_of_skew_and_each_step_once(app: TestApp) {
    let (_, secret, _) = with_totp(&app, "skew@example.com").await;
    app.clock.advance(Duration::minutes(3));
    for (offset, status) in [(-60, 401), (-30, 200), (30, 200), (60, 401), (0, 401)] {
        let reply = verify(
            &app,
            &mfa_token(&app, "skew@example.com").await,
            json!({"code": code(&app, &secret, offset)}),
        )
        .await;
        assert_eq!(reply.status, status, "{offset:+} s: {}", reply.text);
    }
}

async fn ten_wrong_codes_lock_the_account_out(app: TestApp) {
    let (_, secret, _) = with_totp(&app, "guessed@example.com").await;
    let mfa = mfa_token(&app, "guessed@example.com").await;
    for i in 0..10 {
        let wrong = verify(&app, &mfa, json!({"code": format!("{:06}", 100_000 + i)})).await;
        assert_eq!(wrong.status, 401, "guess {i}");
    }
    app.clock.advance(Duration::seconds(30));
    let locked = verify(&app, &mfa, json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(
        (locked.status, locked.error()),
        (429, "rate_limited"),
        "even the right code"
    );
}

async fn a_recovery_code_works_once_and_ends_every_other_session(app: TestApp) {
    let (first_token, _, codes) = with_totp(&app, "lost-phone@example.com").await;
    let signed_in = verify(
        &app,
        &mfa_token(&app, "lost-phone@example.com").await,
        json!({"recovery_code": codes[0].to_uppercase()}),
    )
    .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let ended = app.get_with_token("/auth/me", &first_token).await;
    assert_eq!((ended.status, ended.error()), (401, "token_revoked"));
    let again = verify(
        &app,
        &mfa_token(&app, "lost-phone@example.com").await,
        json!({"recovery_code": codes[0]}),
    )
    .await;
    assert_eq!((again.status, again.error()), (401, "invalid_credentials"));
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'recovery_code_used'")
            .await,
        1,
        "the patient is told"
    );
    let token = signed_in.body["token"].as_str().expect("token");
    assert_eq!(
        app.get_with_token("/auth/mfa", token).await.body["recovery_codes_left"],
        json!(9)
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM audit_events WHERE event = 'recovery_code_used'")
            .await,
        1
    );
}

async fn turning_codes_off_needs_the_password_and_a_fresh_code(app: TestApp) {
    let (token, secret, codes) = with_totp(&app, "off@example.com").await;
    app.clock.advance(Duration::seconds(30));
    let no_code = post_auth(
        &app,
        "/auth/mfa/totp/disable",
        &token,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(no_code.status, 422);
    let wrong_password = post_auth(
        &app,
        "/auth/mfa/totp/disable",
        &token,
        json!({"password": "nope-nope-nope", "code": code(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(
        (wrong_password.status, wrong_password.error()),
        (401, "invalid_credentials")
    );
    let regenerated = post_auth(
        &app,
        "/auth/mfa/recovery-codes",
        &token,
        json!({"password": PASSWORD, "recovery_code": codes[1]}),
    )
    .await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    assert_eq!(
        regenerated.body["recovery_codes"].as_array().map(Vec::len),
        Some(10)
    );
    app.clock.advance(Duration::seconds(30));
    let off = post_auth(
        &app,
        "/auth/mfa/totp/disable",
        &token,
        json!({"password": PASSWORD, "code": code(&app, &secret, 0)}),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let plain = app.login("off@example.com", PASSWORD).await;
    assert!(plain.body["token"].is_string(), "{}", plain.text);
    for event in [
        "mfa_enabled",
        "mfa_disabled",
        "recovery_codes_regenerated",
        "mfa_failed",
    ] {
        assert!(
            app.sql_count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE event = '{event}'"
            ))
            .await
                >= 1,
            "{event}"
        );
    }
}

async fn a_password_reset_does_not_skip_the_second_factor(backend: Backend) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = sink.url();
    let app = spawn_app_with(database, &[("SMTP_URL", url.as_str())]).await;
    let email = "reset-mfa@example.com";
    let (_, secret, _) = with_totp(&app, email).await;
    let asked = app
        .post_json("/auth/password-reset/request", &json!({"email": email}))
        .await;
    assert_eq!(asked.status, 202);
    let message = sink.message_to(email, "Reset your password").await;
    let token = crate::mail_server::link_token(&message, "reset-password");
    let reset = app
        .post_json(
            "/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a-brand-new-passphrase"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.body["mfa_required"], json!(true), "{}", reset.text);
    assert!(
        reset.body.get("token").is_none(),
        "a mailed link is no second factor"
    );
    app.clock.advance(Duration::seconds(30));
    let mfa = reset.body["mfa_token"].as_str().expect("mfa_token");
    let signed_in = verify(&app, mfa, json!({"code": code(&app, &secret, 0)})).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor_on_sqlite() {
    a_password_reset_does_not_skip_the_second_factor(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor_on_postgres() {
    a_password_reset_does_not_skip_the_second_factor(Backend::Postgres).await;
}

#[tokio::test]
async fn a_password_reset_does_not_skip_the_second_factor_on_mariadb() {
    a_password_reset_does_not_skip_the_second_factor(Backend::MariaDb).await;
}

#[tokio::test]
#[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
async fn a_password_reset_does_not_skip_the_second_factor_on_mssql() {
    a_password_reset_does_not_skip_the_second_factor(Backend::MsSql).await;
}

on_every_database!(
    codes_turn_on_after_one_valid_code_and_the_secret_is_sealed,
    the_password_alone_gets_only_a_second_step,
    codes_allow_one_step_of_skew_and_each_step_once,
    ten_wrong_codes_lock_the_account_out,
    a_recovery_code_works_once_and_ends_every_other_session,
    turning_codes_off_needs_the_password_and_a_fresh_code,
);

#[tokio::test]
async fn an_operator_removes_every_factor_of_a_patient_who_lost_them_all() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(database, &[]).await;
    let (token, _, _) = with_totp(&app, "lost-everything@example.com").await;
    let (_, added) = crate::passkeys::add_passkey(&app, &token, true).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let dir = tempfile::tempdir().expect("dir");
    let output = crate::binary::command(
        dir.path(),
        &[
            ("DATABASE_URL", app.database.url.as_str()),
            ("JWT_SECRET", crate::helpers::JWT_SECRET),
        ],
    )
    .args(["mfa-reset", "--email", "lost-everything@example.com"])
    .output()
    .await
    .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("every second factor removed"), "{stdout}");
    let login = app.login("lost-everything@example.com", PASSWORD).await;
    assert!(login.body["token"].is_string(), "{}", login.text);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM audit_events WHERE event = 'mfa_reset'")
            .await,
        1
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM passkeys").await,
        0,
        "passkeys go too"
    );
    let unknown =
        crate::binary::command(dir.path(), &[("DATABASE_URL", app.database.url.as_str())])
            .args(["mfa-reset", "--email", "nobody@example.com"])
            .output()
            .await
            .expect("runs");
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn hostile_second_factor_input_is_a_clear_error_and_never_a_500() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(database, &[]).await;
    let (token, _, _) = with_totp(&app, "hostile-mfa@example.com").await;
    let mfa = mfa_token(&app, "hostile-mfa@example.com").await;
    let huge = "9".repeat(10 * 1024);
    for (body, status, code) in [
        (json!({}), 422, "validation_failed"),
        (json!({"mfa_token": mfa}), 422, "validation_failed"),
        (
            json!({"mfa_token": mfa, "code": "123456", "recovery_code": "abcde-fghjk"}),
            422,
            "validation_failed",
        ),
        (
            json!({"mfa_token": mfa, "code": 123456}),
            400,
            "invalid_json",
        ),
        (
            json!({"mfa_token": huge, "code": "123456"}),
            401,
            "invalid_token",
        ),
        (
            json!({"mfa_token": "'; DROP TABLE mfa_totp; --", "code": "123456"}),
            401,
            "invalid_token",
        ),
        (
            json!({"mfa_token": mfa, "code": huge}),
            401,
            "invalid_credentials",
        ),
        (
            json!({"mfa_token": mfa, "recovery_code": "\u{0000}\u{202e}"}),
            401,
            "invalid_credentials",
        ),
    ] {
        let reply = app.post_json("/auth/mfa/verify", &body).await;
        assert_eq!(
            (reply.status, reply.error()),
            (status, code),
            "{body}: {}",
            reply.text
        );
    }
    for (path, body, status) in [
        ("/auth/mfa/totp/confirm", json!({"code": huge}), 409),
        (
            "/auth/mfa/totp/disable",
            json!({"password": PASSWORD, "code": huge}),
            401,
        ),
        (
            "/auth/mfa/recovery-codes",
            json!({"password": 7, "code": "123456"}),
            400,
        ),
    ] {
        let reply = post_auth(&app, path, &token, body.clone()).await;
        assert_eq!(reply.status, status, "{path} {body}: {}", reply.text);
    }
}
