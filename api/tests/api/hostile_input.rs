//! Bad bodies, types and methods: always the contract's error body, never a 500.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_every_database;

async fn wrong_json_types_are_400_invalid_json(app: TestApp) {
    for body in [
        json!({"name": 5, "email": "a@example.com", "password": "secret-pass"}),
        json!({"name": "A", "email": ["a@example.com"], "password": "secret-pass"}),
        json!({"name": "A", "email": "a@example.com", "password": {"$ne": null}}),
        json!({"name": "A", "email": "a@example.com", "password": true}),
    ] {
        let reply = app.post_json("/auth/register", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_json");
        assert!(reply.body["message"].is_string());
    }
    let login = app
        .post_json("/auth/login", &json!({"email": 1, "password": "x"}))
        .await;
    assert_eq!(login.error(), "invalid_json");
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 0);
}

async fn non_object_and_unparseable_json_is_400(app: TestApp) {
    for body in [
        "[1,2,3]",
        "\"text\"",
        "42",
        "null",
        "{",
        "{\"name\": \"A\",}",
        "",
        "\u{feff}{}",
        "{\"a\":1}{\"b\":2}",
    ] {
        let request = app
            .client
            .post(format!("{}/auth/register", app.address))
            .header("content-type", "application/json")
            .body(body);
        let reply = app.send(request).await;
        assert_eq!(reply.status, 400, "{body:?}: {}", reply.text);
        assert_eq!(reply.error(), "invalid_json", "{body:?}");
    }
}

async fn a_body_not_declared_as_json_is_415(app: TestApp) {
    let body = r#"{"email":"a@example.com","password":"secret-pass"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("not a mime"),
    ] {
        let mut request = app
            .client
            .post(format!("{}/auth/login", app.address))
            .body(body);
        if let Some(value) = content_type {
            request = request.header("content-type", value);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.text);
        assert_eq!(reply.error(), "unsupported_media_type");
    }
    let with_charset = app
        .client
        .post(format!("{}/auth/login", app.address))
        .header("content-type", "application/json; charset=utf-8")
        .body(body);
    assert_eq!(
        app.send(with_charset).await.status,
        401,
        "a charset is fine"
    );
}

async fn a_one_mebibyte_body_is_413(app: TestApp) {
    let huge = json!({"name": "x".repeat(1024 * 1024), "email": "big@example.com", "password": "secret-pass"});
    let reply = app.post_json("/auth/register", &huge).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.error(), "payload_too_large");
    // The same without a Content-Length, streamed in chunks.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..64).map(|_| Ok("x".repeat(16 * 1024))).collect();
    let stream = futures::stream::iter(chunks);
    let request = app
        .client
        .post(format!("{}/auth/register", app.address))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream));
    let reply = app.send(request).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 0);
}

async fn unknown_routes_and_methods_answer_in_json(app: TestApp) {
    let reply = app
        .send(app.client.get(format!("{}/no/such/route", app.address)))
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error(), "not_found");
    let reply = app
        .send(app.client.get(format!("{}/auth/login", app.address)))
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.error(), "method_not_allowed");
    assert_eq!(reply.header("allow"), "POST");
    let reply = app
        .send(app.client.delete(format!("{}/auth/me", app.address)))
        .await;
    assert_eq!((reply.status, reply.error()), (405, "method_not_allowed"));
}

async fn unknown_fields_are_ignored(app: TestApp) {
    let reply = app.post_json("/auth/register", &json!({"name": "A", "email": "extra@example.com", "password": "secret-pass", "is_admin": true, "patient_id": 1})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn request_ids_are_echoed_when_sane_and_replaced_otherwise(app: TestApp) {
    let reply = app
        .send(
            app.client
                .get(format!("{}/health", app.address))
                .header("x-request-id", "trace-abc.123"),
        )
        .await;
    assert_eq!(reply.header("x-request-id"), "trace-abc.123");
    assert_eq!(reply.body, json!({"status": "ok"}));
    let reply = app
        .send(
            app.client
                .get(format!("{}/health", app.address))
                .header("x-request-id", "evil\" injected=1"),
        )
        .await;
    assert!(
        uuid::Uuid::parse_str(reply.header("x-request-id")).is_ok(),
        "{}",
        reply.header("x-request-id")
    );
    let reply = app
        .send(app.client.get(format!("{}/nope", app.address)))
        .await;
    assert!(
        !reply.header("x-request-id").is_empty(),
        "errors carry one too"
    );
}

async fn ready_answers_while_the_database_does(app: TestApp) {
    let reply = app
        .send(app.client.get(format!("{}/ready", app.address)))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"status": "ready"}));
}

on_every_database!(
    wrong_json_types_are_400_invalid_json,
    non_object_and_unparseable_json_is_400,
    a_body_not_declared_as_json_is_415,
    a_one_mebibyte_body_is_413,
    unknown_routes_and_methods_answer_in_json,
    unknown_fields_are_ignored,
    request_ids_are_echoed_when_sane_and_replaced_otherwise,
    ready_answers_while_the_database_does,
);
