//! Account recovery and email verification, end to end: messages go through a real SMTP server
//! (`mail_server`), the test takes the link out of the delivered message and finishes the flow
//! over HTTP, on every database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use service::SystemClock;

use crate::helpers::{
    spawn_app_with, start_server, Backend, Reply, TestApp, TestDatabase, PASSWORD,
};
use crate::mail_server::{has_subject, header, is_to, link_token, SmtpSink, TlsMode};

const RESET_SUBJECT: &str = "Reset your password";
const VERIFY_SUBJECT: &str = "Confirm your email address";
const CHANGED_SUBJECT: &str = "Your password was changed";
const NEW_PASSWORD: &str = "a-brand-new-passphrase";

/// An SMTP server and an application on a fresh `backend` database that mails through it.
async fn app_with_mail(backend: Backend, extra: &[(&str, &str)]) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start().await?;
    let database = TestDatabase::create(backend).await?;
    let url = sink.url();
    let mut settings = vec![("SMTP_URL", url.as_str())];
    settings.extend_from_slice(extra);
    Some((spawn_app_with(database, &settings).await, sink))
}

/// Asks for a reset link for `email`.
async fn request_reset(app: &TestApp, email: &str) -> Reply {
    app.post_json("/auth/password-reset/request", &json!({"email": email}))
        .await
}

/// Confirms a reset.
async fn confirm_reset(app: &TestApp, token: &str, new_password: &str) -> Reply {
    app.post_json(
        "/auth/password-reset/confirm",
        &json!({"token": token, "new_password": new_password}),
    )
    .await
}

/// The token of the newest reset link mailed to `email`, once `count` of them have arrived.
async fn reset_token(sink: &SmtpSink, email: &str, count: usize) -> String {
    let messages = sink
        .wait_for(count, Duration::from_secs(10), |m| {
            is_to(m, email) && has_subject(m, RESET_SUBJECT)
        })
        .await;
    assert_eq!(messages.len(), count, "reset messages to {email}");
    link_token(messages.last().expect("a message"), "reset-password")
}

async fn a_forgotten_password_is_reset_through_the_mailed_link(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "forgetful@example.com";
    let (old_token, patient_id) = app.registered(email).await;
    let old_refresh_session = app.login(email, PASSWORD).await;
    assert_eq!(old_refresh_session.status, 200);

    let asked = request_reset(&app, email).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let message = sink.message_to(email, RESET_SUBJECT).await;
    assert!(
        message.contains("http://localhost:5173/reset-password#token="),
        "{message}"
    );
    assert!(message.contains("text/plain") && message.contains("text/html"));
    let token = link_token(&message, "reset-password");
    assert_eq!(token.len(), 43, "256 random bits");
    let stored: i64 = app
        .sql_count(&format!(
            "SELECT COUNT(*) FROM account_tokens WHERE token_hash = '{token}'"
        ))
        .await;
    assert_eq!(stored, 0, "only the token's hash is stored");

    let reset = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(
        reset.body["patient"]["patient_id"].as_i64(),
        Some(patient_id)
    );
    assert_eq!(
        reset.body["patient"]["email_verified"],
        json!(true),
        "following the mailed link proves the address"
    );
    let fresh = reset.body["token"].as_str().expect("a fresh token");
    assert_eq!(app.get_with_token("/auth/me", fresh).await.status, 200);
    // Every earlier session ended, on this device and the other.
    for earlier in [
        old_token.as_str(),
        old_refresh_session.body["token"].as_str().expect("token"),
    ] {
        let refused = app.get_with_token("/auth/me", earlier).await;
        assert_eq!(
            (refused.status, refused.error()),
            (401, "token_revoked"),
            "{}",
            refused.text
        );
    }
    assert_eq!(app.login(email, PASSWORD).await.status, 401);
    assert_eq!(app.login(email, NEW_PASSWORD).await.status, 200);
    // The link works once.
    let again = confirm_reset(&app, &token, "yet-another-passphrase").await;
    assert_eq!((again.status, again.error()), (400, "invalid_reset_token"));
    // The patient is told, as after a change of password.
    let notice = sink.message_to(email, CHANGED_SUBJECT).await;
    assert!(notice.contains("/forgot-password"), "{notice}");
    assert!(!notice.contains("#token="), "a notice carries no token");
    // The trail says what happened, and the outbox keeps no link once the message left.
    for event in ["password_reset_requested", "password_reset"] {
        assert_eq!(
            app.sql_count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE patient_id = {patient_id} AND event = '{event}'"
            ))
            .await,
            1,
            "{event}"
        );
    }
    let sent_with_text = app
        .sql_count(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND message IS NOT NULL",
        )
        .await;
    assert_eq!(sent_with_text, 0, "a sent message's text is emptied");
}

async fn a_mailed_link_verifies_the_address(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "new.patient@example.com";
    let (token, patient_id) = app.registered(email).await;
    let me = app.get_with_token("/auth/me", &token).await;
    assert_eq!(me.body["email_verified"], json!(false));

    let message = sink.message_to(email, VERIFY_SUBJECT).await;
    let verification = link_token(&message, "verify-email");
    // A verification link is no reset link.
    let wrong_use = confirm_reset(&app, &verification, NEW_PASSWORD).await;
    assert_eq!(
        (wrong_use.status, wrong_use.error()),
        (400, "invalid_reset_token")
    );
    let verified = app
        .post_json("/auth/verify-email", &json!({"token": verification}))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body, json!({"message": "email address verified"}));
    let me = app.get_with_token("/auth/me", &token).await;
    assert_eq!(me.body["email_verified"], json!(true));
    let again = app
        .post_json("/auth/verify-email", &json!({"token": verification}))
        .await;
    assert_eq!((again.status, again.error()), (400, "invalid_reset_token"));
    let resend = app
        .post_with_token("/auth/verify-email/resend", &token)
        .await;
    assert_eq!(resend.status, 202);
    assert_eq!(
        resend.body["message"],
        json!("the email address is verified already")
    );
    assert_eq!(
        app.sql_count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE patient_id = {patient_id} AND event = 'email_verified'"
        ))
        .await,
        1
    );
}

async fn a_resent_link_replaces_the_first(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "resend@example.com";
    let (token, _) = app.registered(email).await;
    let first = link_token(
        &sink.message_to(email, VERIFY_SUBJECT).await,
        "verify-email",
    );
    let resend = app
        .post_with_token("/auth/verify-email/resend", &token)
        .await;
    assert_eq!(resend.status, 202, "{}", resend.text);
    let both = sink
        .wait_for(2, Duration::from_secs(10), |m| {
            is_to(m, email) && has_subject(m, VERIFY_SUBJECT)
        })
        .await;
    assert_eq!(both.len(), 2);
    let second = link_token(&both[1], "verify-email");
    assert_ne!(first, second);
    let stale = app
        .post_json("/auth/verify-email", &json!({"token": first}))
        .await;
    assert_eq!((stale.status, stale.error()), (400, "invalid_reset_token"));
    let fresh = app
        .post_json("/auth/verify-email", &json!({"token": second}))
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
}

async fn every_bad_reset_token_is_invalid_reset_token(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "target@example.com";
    app.registered(email).await;
    app.registered("other@example.com").await;

    // Superseded: a newer request replaces the older link.
    assert_eq!(request_reset(&app, email).await.status, 202);
    let first = reset_token(&sink, email, 1).await;
    assert_eq!(request_reset(&app, email).await.status, 202);
    let second = reset_token(&sink, email, 2).await;
    assert_ne!(first, second);

    // A weak new password is a 422 and leaves the token usable.
    let weak = confirm_reset(&app, &second, "password").await;
    assert_eq!(weak.status, 422, "{}", weak.text);
    assert!(
        weak.body["fields"]["new_password"].is_string(),
        "{}",
        weak.text
    );

    let forged = "A".repeat(43);
    let huge = "x".repeat(10 * 1024);
    for (what, token) in [
        ("superseded", first.as_str()),
        ("forged", forged.as_str()),
        ("10 KiB", huge.as_str()),
        ("not base64url", "'; DROP TABLE patients; --"),
        ("unicode", "تزوير-تزوير"),
        (
            "the other patient's hash",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ] {
        let reply = confirm_reset(&app, token, NEW_PASSWORD).await;
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_reset_token"),
            "{what}: {}",
            reply.text
        );
    }

    // Expired: past PASSWORD_RESET_EXP_MINUTES (30) by the injected clock.
    app.clock.advance(chrono::Duration::minutes(31));
    let expired = confirm_reset(&app, &second, NEW_PASSWORD).await;
    assert_eq!(
        (expired.status, expired.error()),
        (400, "invalid_reset_token")
    );
    // Nothing was changed by any of it.
    assert_eq!(app.login(email, PASSWORD).await.status, 200);
}

async fn an_unverified_login_is_refused_only_after_the_right_password(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[("REQUIRE_VERIFIED_EMAIL", "true")]).await
    else {
        return;
    };
    let email = "unverified@example.com";
    app.registered(email).await;
    let wrong = app.login(email, "not-the-password").await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    let refused = app.login(email, PASSWORD).await;
    assert_eq!(
        (refused.status, refused.error()),
        (403, "email_not_verified"),
        "{}",
        refused.text
    );
    assert!(refused.body.get("token").is_none());
    let verification = link_token(
        &sink.message_to(email, VERIFY_SUBJECT).await,
        "verify-email",
    );
    let verified = app
        .post_json("/auth/verify-email", &json!({"token": verification}))
        .await;
    assert_eq!(verified.status, 200);
    assert_eq!(app.login(email, PASSWORD).await.status, 200);
}

async fn mail_waits_out_an_outage_and_two_instances_send_each_message_once(backend: Backend) {
    let Some(mut sink) = SmtpSink::start().await else {
        return;
    };
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let url = sink.url();
    let settings = [("SMTP_URL", url.as_str())];
    // Real time: retries wait out real seconds (MAIL_RETRY_BASE_SECONDS=1 in the test settings).
    let (first, _a) = start_server(&database.url, Arc::new(SystemClock), &settings).await;
    let (second, _b) = start_server(&database.url, Arc::new(SystemClock), &settings).await;
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: serde_json::Value| {
        let request = client.post(format!("{base}{path}")).json(&body);
        async move { crate::helpers::read(request.send().await.expect("sent")).await }
    };
    let patients: Vec<String> = (0..20).map(|i| format!("outage{i}@example.com")).collect();
    for (i, email) in patients.iter().enumerate() {
        let base = if i % 2 == 0 { &first } else { &second };
        let reply = post(
            base,
            "/auth/register",
            json!({"name": "Outage", "email": email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let registered = sink
        .wait_for(20, Duration::from_secs(20), |m| {
            has_subject(m, VERIFY_SUBJECT)
        })
        .await;
    assert_eq!(registered.len(), 20);

    sink.stop().await;
    let stopped_at = Instant::now();
    for (i, email) in patients.iter().enumerate() {
        let base = if i % 2 == 0 { &first } else { &second };
        let reply = post(
            base,
            "/auth/password-reset/request",
            json!({"email": email}),
        )
        .await;
        assert_eq!(
            reply.status, 202,
            "a mail outage never fails a request: {}",
            reply.text
        );
    }
    // Let both workers fail a few times against the stopped server.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let db = database.connect().await;
    let tried: i64 = crate::helpers::query_i64(
        &db,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND attempts > 0",
    )
    .await;
    assert_eq!(
        tried, 20,
        "every message was tried while the server was down"
    );
    sink.resume().await;
    let resumed_at = Instant::now();
    let arrived = sink
        .wait_for(20, Duration::from_secs(30), |m| {
            has_subject(m, RESET_SUBJECT)
        })
        .await;
    assert_eq!(arrived.len(), 20, "every reset arrived after the outage");
    let delivered_after = resumed_at.elapsed();
    // Every message exactly once: give a duplicate time to arrive before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resets: Vec<String> = sink
        .messages()
        .into_iter()
        .filter(|m| has_subject(m, RESET_SUBJECT))
        .collect();
    for email in &patients {
        let count = resets.iter().filter(|m| is_to(m, email)).count();
        assert_eq!(count, 1, "{email} got {count} reset messages");
    }
    let verifications = sink
        .messages()
        .into_iter()
        .filter(|m| has_subject(m, VERIFY_SUBJECT))
        .count();
    assert_eq!(verifications, 20, "no message was sent twice");
    let pending: i64 = crate::helpers::query_i64(
        &db,
        "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL",
    )
    .await;
    assert_eq!(pending, 0);
    println!(
        "outage: 20 resets queued with the SMTP server down for {:.1} s (each tried and failed at \
         least once); all 20 delivered exactly once {:.2} s after it came back",
        resumed_at.duration_since(stopped_at).as_secs_f64(),
        delivered_after.as_secs_f64()
    );
}

async fn messages_are_written_in_the_language_the_client_reads(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "arabic@example.com";
    let reply = app
        .send(
            app.client
                .post(format!("{}/auth/register", app.address))
                .header("accept-language", "ar-EG,ar;q=0.9,en;q=0.5")
                .json(&json!({"name": "أحمد علي", "email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let message = sink
        .wait_for(1, Duration::from_secs(10), |m| is_to(m, email))
        .await
        .pop()
        .expect("a message");
    assert_eq!(header(&message, "Content-Language"), Some("ar"));
    assert!(message.contains("dir=\"rtl\""), "{message}");
    assert!(message.contains("مرحبًا أحمد علي"), "{message}");
    assert!(message.contains("/verify-email#token="));
    assert!(!message.contains("<img"), "no images, no tracking pixels");
}

async fn changing_the_password_mails_a_notice(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "changer@example.com";
    let (token, _) = app.registered(email).await;
    let changed = app
        .send(
            app.client
                .post(format!("{}/auth/change-password", app.address))
                .bearer_auth(&token)
                .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let notice = sink.message_to(email, CHANGED_SUBJECT).await;
    assert!(
        notice.contains("http://localhost:5173/forgot-password"),
        "{notice}"
    );
    // A refused change sends nothing.
    let refused = app
        .send(
            app.client
                .post(format!("{}/auth/change-password", app.address))
                .bearer_auth(changed.body["token"].as_str().expect("token"))
                .json(
                    &json!({"current_password": "wrong-password", "new_password": "x-y-z-w-v-u"}),
                ),
        )
        .await;
    assert_eq!(refused.status, 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let notices = sink
        .messages()
        .into_iter()
        .filter(|m| has_subject(m, CHANGED_SUBJECT))
        .count();
    assert_eq!(notices, 1);
}

async fn two_confirmations_of_one_link_at_once_set_one_password(backend: Backend) {
    let Some((app, sink)) = app_with_mail(backend, &[]).await else {
        return;
    };
    let email = "racer@example.com";
    app.registered(email).await;
    assert_eq!(request_reset(&app, email).await.status, 202);
    let token = reset_token(&sink, email, 1).await;
    let (first, second) = tokio::join!(
        confirm_reset(&app, &token, "first-racing-passphrase"),
        confirm_reset(&app, &token, "second-racing-passphrase"),
    );
    let mut outcomes = vec![
        (first.status, first.error().to_owned()),
        (second.status, second.error().to_owned()),
    ];
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![
            (200, String::new()),
            (400, "invalid_reset_token".to_owned())
        ],
        "{} / {}",
        first.text,
        second.text
    );
    let winner = if first.status == 200 {
        "first-racing-passphrase"
    } else {
        "second-racing-passphrase"
    };
    assert_eq!(app.login(email, winner).await.status, 200);
    let sessions = app
        .sql_count("SELECT COUNT(*) FROM auth_sessions WHERE revoked_at IS NULL")
        .await;
    assert_eq!(
        sessions, 2,
        "the registration's ended; the reset's and the login's are open"
    );
}

async fn expired_messages_are_given_up_and_old_links_and_records_purged(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    // The service alone, with no server and so no other delivery worker, and a mail server that
    // never comes back (nothing listens on port 9).
    let db = database.connect().await;
    migration::up(&db, None).await.expect("schema");
    let clock = Arc::new(service::ManualClock::new(chrono::Utc::now()));
    let auth = service::AuthService::new(
        crate::helpers::test_settings(&database.url, &[]).auth,
        clock.clone(),
    )
    .expect("service");
    let client = service::ClientInfo::default();
    let email = "never-mailed@example.com";
    auth.register(
        &db,
        service::RegistrationForm {
            name: Some("Never Mailed".into()),
            email: Some(email.into()),
            password: Some(secrecy::SecretString::from(PASSWORD.to_owned())),
            username: None,
        },
        &client,
    )
    .await
    .expect("registered");
    assert!(auth
        .send_password_reset(&db, email, &client)
        .await
        .expect("queued"));
    let delivery = service::mail::MailDelivery::new(
        db.clone(),
        service::mail::MailTransport::smtp(
            "smtp://127.0.0.1:9?tls=off",
            Duration::from_secs(1),
            None,
        )
        .expect("transport"),
        "no-reply@example.com".parse().expect("address"),
        clock.clone(),
        service::mail::DeliverySettings::default(),
    );
    let report = delivery.deliver_due().await.expect("a pass");
    assert_eq!(report.retried, 2, "{report:?}");
    // Past the reset link's 30 minutes: that message is given up, its text emptied; the
    // verification mail (48 hours) is still worth trying.
    clock.advance(chrono::Duration::minutes(31));
    let report = delivery.deliver_due().await.expect("a pass");
    assert_eq!((report.given_up, report.retried), (1, 1), "{report:?}");
    let given_up = crate::helpers::query_i64(
        &db,
        "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset' AND failed_at IS NOT NULL AND message IS NULL",
    )
    .await;
    assert_eq!(given_up, 1);
    let report = auth.purge_expired(&db).await.expect("purge");
    assert_eq!(report.account_tokens, 1, "the expired reset link");
    assert_eq!(report.mail_records, 0, "records are kept 30 days");
    clock.advance(chrono::Duration::days(31));
    let report = auth.purge_expired(&db).await.expect("purge");
    assert_eq!(report.account_tokens, 1, "the expired verification link");
    assert_eq!(
        report.mail_records, 1,
        "the given-up reset's record, 30 days on (the verification mail has not ended)"
    );
    let report = delivery.deliver_due().await.expect("a pass");
    assert_eq!(
        report.given_up, 1,
        "now the verification mail is past its use too"
    );
    clock.advance(chrono::Duration::days(31));
    let report = auth.purge_expired(&db).await.expect("purge");
    assert_eq!(
        report.mail_records, 1,
        "its record too, 30 days after it ended"
    );
    let left = crate::helpers::query_i64(&db, "SELECT COUNT(*) FROM mail_outbox").await;
    assert_eq!(left, 0);
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Sqlite).await; } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::Postgres).await; } )*
        }
        mod mariadb {
            $( #[tokio::test] async fn $name() { super::$name(crate::helpers::Backend::MariaDb).await; } )*
        }
        /// SQL Server runs only where one exists: `MSSQL_URL=… cargo test -- --include-ignored`.
        mod mssql {
            $(
                #[tokio::test]
                #[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
                async fn $name() { super::$name(crate::helpers::Backend::MsSql).await; }
            )*
        }
    };
}

on_every_backend!(
    a_forgotten_password_is_reset_through_the_mailed_link,
    a_mailed_link_verifies_the_address,
    a_resent_link_replaces_the_first,
    every_bad_reset_token_is_invalid_reset_token,
    an_unverified_login_is_refused_only_after_the_right_password,
    mail_waits_out_an_outage_and_two_instances_send_each_message_once,
    messages_are_written_in_the_language_the_client_reads,
    changing_the_password_mails_a_notice,
    two_confirmations_of_one_link_at_once_set_one_password,
    expired_messages_are_given_up_and_old_links_and_records_purged,
);

/// The median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn a_reset_request_answers_alike_in_body_status_and_time_for_known_and_unknown_addresses() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    // The real default padding (250 ms), not the suites' short one.
    let app = spawn_app_with(database, &[("PASSWORD_RESET_REQUEST_MS", "250")]).await;
    app.registered("known@example.com").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut bodies = std::collections::BTreeSet::new();
    for i in 0..15 {
        for (email, samples) in [
            ("known@example.com".to_owned(), &mut known),
            (format!("unknown{i}@example.com"), &mut unknown),
        ] {
            let started = Instant::now();
            let reply = request_reset(&app, &email).await;
            samples.push(started.elapsed());
            assert_eq!(reply.status, 202);
            bodies.insert(reply.text);
        }
    }
    assert_eq!(bodies.len(), 1, "one body for every address: {bodies:?}");
    let (known, unknown) = (median(known), median(unknown));
    let difference = known.abs_diff(unknown).as_secs_f64() / known.max(unknown).as_secs_f64();
    println!(
        "reset request, median of 15: known {:.1} ms, unknown {:.1} ms, difference {:.2}%",
        known.as_secs_f64() * 1e3,
        unknown.as_secs_f64() * 1e3,
        difference * 100.0
    );
    assert!(difference < 0.10, "known {known:?} vs unknown {unknown:?}");
    assert!(known >= Duration::from_millis(250));
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_alike_whether_or_not_it_has_an_account() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    // 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names a distinct client per request.
    let app = spawn_app_with(
        database,
        &[
            ("PASSWORD_RESET_LIMIT", "3"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    app.registered("limited@example.com").await;
    let from = |client: &str, email: &str| {
        app.send(
            app.client
                .post(format!("{}/auth/password-reset/request", app.address))
                .header("x-forwarded-for", client)
                .json(&json!({"email": email})),
        )
    };
    for (n, email) in ["limited@example.com", "nobody-here@example.com"]
        .into_iter()
        .enumerate()
    {
        let mut statuses = Vec::new();
        for i in 0..4 {
            statuses.push(from(&format!("192.0.2.{}", n * 10 + i), email).await.status);
        }
        // Four clients asking for one address: the fourth is refused, for the known and the
        // unknown address alike.
        assert_eq!(statuses, vec![202, 202, 202, 429], "{email}");
    }
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(
            from("198.51.100.7", &format!("spray{i}@example.com"))
                .await
                .status,
        );
    }
    assert_eq!(
        statuses,
        vec![202, 202, 202, 429],
        "one client spraying addresses"
    );
    let refused = from("198.51.100.7", "spray9@example.com").await;
    assert_eq!(refused.error(), "rate_limited");
    assert!(refused.header("retry-after").parse::<u64>().is_ok());
}

#[tokio::test]
async fn hostile_recovery_input_is_a_clear_error_and_never_a_500() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(database, &[]).await;
    let huge = "a".repeat(10 * 1024);
    for (path, body, status, code) in [
        (
            "/auth/password-reset/request",
            json!({}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/request",
            json!({"email": 42}),
            400,
            "invalid_json",
        ),
        (
            "/auth/password-reset/request",
            json!({"email": "not-an-address"}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/request",
            json!({"email": format!("{huge}@example.com")}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/request",
            json!({"email": "a@example.com\r\nBcc: x@evil.example"}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/confirm",
            json!({}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/confirm",
            json!({"token": "abc"}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/confirm",
            json!({"token": ["abc"], "new_password": NEW_PASSWORD}),
            400,
            "invalid_json",
        ),
        (
            "/auth/password-reset/confirm",
            json!({"token": "", "new_password": NEW_PASSWORD}),
            422,
            "validation_failed",
        ),
        (
            "/auth/password-reset/confirm",
            json!({"token": "\u{0000}", "new_password": NEW_PASSWORD}),
            400,
            "invalid_reset_token",
        ),
        (
            "/auth/verify-email",
            json!({"token": null}),
            422,
            "validation_failed",
        ),
        (
            "/auth/verify-email",
            json!({"token": 7}),
            400,
            "invalid_json",
        ),
        (
            "/auth/verify-email",
            json!({"token": huge}),
            400,
            "invalid_reset_token",
        ),
    ] {
        let reply = app.post_json(path, &body).await;
        assert_eq!(
            (reply.status, reply.error()),
            (status, code),
            "{path} {body}: {}",
            reply.text
        );
    }
    let no_token = app
        .send(
            app.client
                .post(format!("{}/auth/verify-email/resend", app.address)),
        )
        .await;
    assert_eq!((no_token.status, no_token.error()), (401, "missing_token"));
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'password_reset'")
            .await,
        0,
        "no bad request queued a message"
    );
}

#[tokio::test]
async fn an_address_no_message_can_go_to_fails_no_action() {
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(database, &[]).await;
    let (token, patient_id) = app.registered("fine@example.com").await;
    // An operator's typo in SSMS: the row keeps an address no message can go to.
    app.operator_sql(&format!(
        "UPDATE patients SET email = 'fine at example' WHERE patient_id = {patient_id}"
    ))
    .await;
    let changed = app
        .send(
            app.client
                .post(format!("{}/auth/change-password", app.address))
                .bearer_auth(&token)
                .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let resend = app
        .post_with_token(
            "/auth/verify-email/resend",
            changed.body["token"].as_str().expect("token"),
        )
        .await;
    assert_eq!(resend.status, 202, "{}", resend.text);
    assert_eq!(
        app.sql_count(&format!(
            "SELECT COUNT(*) FROM mail_outbox WHERE patient_id = {patient_id}"
        ))
        .await,
        1,
        "only the registration's message, queued while the address was fine"
    );
}

/// A reset mailed through a TLS server (`mode`) whose CA is trusted through `SMTP_CA_FILE`.
async fn mail_goes_over_verified_tls(mode: TlsMode) {
    let Some(sink) = SmtpSink::start_tls(mode).await else {
        return;
    };
    let url = sink.url();
    let ca = sink.ca_file().expect("a CA");
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(
        database,
        &[("SMTP_URL", url.as_str()), ("SMTP_CA_FILE", ca.as_str())],
    )
    .await;
    let email = "tls@example.com";
    app.registered(email).await;
    assert_eq!(request_reset(&app, email).await.status, 202);
    let token = reset_token(&sink, email, 1).await;
    assert_eq!(token.len(), 43);

    assert!(
        sink.messages().iter().all(|m| is_to(m, email)),
        "every message went to the patient"
    );
}

#[tokio::test]
async fn mail_goes_over_starttls_with_the_configured_ca() {
    mail_goes_over_verified_tls(TlsMode::StartTls).await;
}

#[tokio::test]
async fn mail_goes_over_implicit_tls_with_the_configured_ca() {
    mail_goes_over_verified_tls(TlsMode::Implicit).await;
}

#[tokio::test]
async fn an_untrusted_certificate_or_a_server_without_tls_gets_no_message() {
    for untrusted in [true, false] {
        let sink = if untrusted {
            SmtpSink::start_tls(TlsMode::StartTls).await
        } else {
            SmtpSink::start().await
        };
        let Some(sink) = sink else {
            return;
        };
        // smtp:// means STARTTLS, required: a plain server, or one whose certificate chains to
        // no trusted root, must get nothing, not the link in clear.
        let port = sink
            .url()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .trim_end_matches("?tls=off")
            .to_owned();
        let url = format!("smtp://localhost:{port}");
        let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
            return;
        };
        let app = spawn_app_with(database, &[("SMTP_URL", url.as_str())]).await;
        app.registered("careful@example.com").await;
        assert_eq!(request_reset(&app, "careful@example.com").await.status, 202);
        let mut failed = 0;
        for _ in 0..50 {
            failed = app
                .sql_count("SELECT COUNT(*) FROM mail_outbox WHERE attempts > 0 AND last_error IS NOT NULL")
                .await;
            if failed >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(failed, 2, "both messages failed (untrusted: {untrusted})");
        assert!(
            sink.messages().is_empty(),
            "nothing reached the server in clear"
        );
        let error = app
            .sql_text("SELECT last_error FROM mail_outbox WHERE kind = 'password_reset'")
            .await;
        assert!(!error.is_empty());
        println!("refused (untrusted certificate: {untrusted}): {error}");
    }
}

#[tokio::test]
async fn a_mail_server_that_never_answers_delays_no_request_and_no_other_message() {
    // Accepts connections and never says a word: what a wedged relay looks like.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            connections.push(stream);
        }
    });
    let url = format!("smtp://127.0.0.1:{port}?tls=off");
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let app = spawn_app_with(
        database,
        &[("SMTP_URL", url.as_str()), ("SMTP_TIMEOUT_SECONDS", "1")],
    )
    .await;
    let started = Instant::now();
    let (_, patient_id) = app
        .registered("patient-of-a-wedged-relay@example.com")
        .await;
    for i in 0..2 {
        let reply = request_reset(&app, "patient-of-a-wedged-relay@example.com").await;
        assert_eq!(reply.status, 202, "attempt {i}: {}", reply.text);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "requests do not wait for the mail server ({:?})",
        started.elapsed()
    );
    // Each attempt ends after three SMTP timeouts and is rescheduled, not stuck.
    let mut failed = 0;
    for _ in 0..300 {
        failed = app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM mail_outbox WHERE patient_id = {patient_id} AND attempts > 0 AND claimed_until IS NULL"
            ))
            .await;
        if failed == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        failed, 2,
        "the verification and the latest reset were tried and released"
    );
    held.abort();
}

#[tokio::test]
async fn ready_asks_the_mail_server_only_when_told_to() {
    let Some(mut sink) = SmtpSink::start().await else {
        return;
    };
    let url = sink.url();
    let Some(database) = TestDatabase::create(Backend::Sqlite).await else {
        return;
    };
    let mut app = spawn_app_with(database, &[("SMTP_URL", url.as_str())]).await;
    let checking = app
        .another_instance_with(&[("SMTP_URL", url.as_str()), ("READY_CHECKS_MAIL", "true")])
        .await;
    let ready = |base: String| {
        let request = app.client.get(format!("{base}/ready"));
        async move { crate::helpers::read(request.send().await.expect("sent")).await }
    };
    assert_eq!(ready(checking.clone()).await.status, 200);
    sink.stop().await;
    let down = ready(checking).await;
    assert_eq!((down.status, down.error()), (503, "service_unavailable"));
    assert!(down.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("mail"));
    assert_eq!(
        ready(app.address.clone()).await.status,
        200,
        "by default a mail outage keeps the instance in the load balancer"
    );
}
