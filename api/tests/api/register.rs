//! `POST /auth/register`.

use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};
use crate::on_every_database;

async fn registering_returns_201_with_a_token_response_and_the_new_profile(app: TestApp) {
    let reply = app
        .post_json("/auth/register", &json!({"name": "Ahmed Ali", "email": "ahmed@example.com", "password": "secret-pass", "username": "patient1"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert!(!reply.header("x-request-id").is_empty());
    let body = &reply.body;
    assert!(body["token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() >= 43));
    let patient = &body["patient"];
    assert!(patient["patient_id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(patient["username"], "patient1");
    assert_eq!(patient["name"], "Ahmed Ali");
    assert_eq!(patient["email"], "ahmed@example.com");
    assert_eq!(patient["phone"], serde_json::Value::Null);
    assert_eq!(patient["date_of_birth"], serde_json::Value::Null);
    assert!(
        patient["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{patient}"
    );
    assert_eq!(patient["doctor"], serde_json::Value::Null);
    assert_eq!(patient["caregiver"], serde_json::Value::Null);
    assert_eq!(patient["prescriptions"], json!([]));
    assert!(
        !reply.text.contains("argon2") && !reply.text.contains("password"),
        "no hash in {}",
        reply.text
    );
}

async fn the_stored_password_is_an_owasp_argon2id_hash(app: TestApp) {
    app.registered("hash@example.com").await;
    let hash = app
        .sql_text("SELECT password_hash FROM patients WHERE email = 'hash@example.com'")
        .await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

async fn the_email_is_stored_trimmed_and_lower_cased_and_unique_in_any_case(app: TestApp) {
    let reply = app
        .register("A", "  Mixed.Case@Example.COM ", PASSWORD)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["patient"]["email"], "mixed.case@example.com");
    let again = app.register("B", "MIXED.case@example.com", PASSWORD).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.error(), "email_taken");
}

async fn a_taken_username_is_a_409_in_any_case(app: TestApp) {
    let first = app.post_json("/auth/register", &json!({"name": "A", "email": "a@example.com", "password": PASSWORD, "username": "Nurse.Joy"})).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = app.post_json("/auth/register", &json!({"name": "B", "email": "b@example.com", "password": PASSWORD, "username": "nurse.joy"})).await;
    assert_eq!(second.status, 409, "{}", second.text);
    assert_eq!(second.error(), "username_taken");
}

async fn patients_without_a_username_do_not_collide(app: TestApp) {
    app.registered("one@example.com").await;
    app.registered("two@example.com").await;
    let blank = app.post_json("/auth/register", &json!({"name": "C", "email": "three@example.com", "password": PASSWORD, "username": ""})).await;
    assert_eq!(blank.status, 201, "{}", blank.text);
    assert_eq!(blank.body["patient"]["username"], serde_json::Value::Null);
}

async fn broken_rules_are_a_422_naming_every_field(app: TestApp) {
    let reply = app.post_json("/auth/register", &json!({"name": "   ", "email": "not-an-email", "password": "short", "username": "a b"})).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.error(), "validation_failed");
    for field in ["name", "email", "password", "username"] {
        assert!(
            reply.body["fields"][field].is_string(),
            "{field} in {}",
            reply.text
        );
    }
    let missing = app.post_json("/auth/register", &json!({})).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.body["fields"]["email"], "is required");
}

async fn a_common_password_is_refused_in_any_case(app: TestApp) {
    for password in ["password", "Password1", "QWERTYUIOP", "iloveyou"] {
        let reply = app.register("A", "common@example.com", password).await;
        assert_eq!(reply.status, 422, "{password}: {}", reply.text);
        assert!(
            reply.body["fields"]["password"]
                .as_str()
                .is_some_and(|m| m.contains("common")),
            "{password}: {}",
            reply.text
        );
    }
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 0);
}

async fn arabic_names_and_128_emoji_passwords_round_trip(app: TestApp) {
    let password = "🔐🌙".repeat(64);
    assert_eq!(password.chars().count(), 128);
    let reply = app
        .register("أحمد علي 🌟", "arabic@example.com", &password)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["patient"]["name"], "أحمد علي 🌟");
    let login = app.login("arabic@example.com", &password).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let me = app
        .get_with_token("/auth/me", login.body["token"].as_str().expect("token"))
        .await;
    assert_eq!(me.body["name"], "أحمد علي 🌟");
    let too_long = app
        .register("A", "long@example.com", &"🔐".repeat(129))
        .await;
    assert_eq!(too_long.status, 422);
}

async fn sql_looking_input_is_stored_as_plain_text(app: TestApp) {
    let name = "Robert'); DROP TABLE patients;--";
    let reply = app
        .post_json(
            "/auth/register",
            &json!({"name": name, "email": "o'brien+x@example.com", "password": "1' OR '1'='1 --"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["patient"]["name"], name);
    assert_eq!(app.sql_count("SELECT COUNT(*) FROM patients").await, 1);
    let login = app.login("o'brien+x@example.com", "1' OR '1'='1 --").await;
    assert_eq!(login.status, 200, "{}", login.text);
    let injection = app.login("' OR 1=1 --", "anything-at-all").await;
    assert_eq!(injection.status, 401);
}

on_every_database!(
    registering_returns_201_with_a_token_response_and_the_new_profile,
    the_stored_password_is_an_owasp_argon2id_hash,
    the_email_is_stored_trimmed_and_lower_cased_and_unique_in_any_case,
    a_taken_username_is_a_409_in_any_case,
    patients_without_a_username_do_not_collide,
    broken_rules_are_a_422_naming_every_field,
    a_common_password_is_refused_in_any_case,
    arabic_names_and_128_emoji_passwords_round_trip,
    sql_looking_input_is_stored_as_plain_text,
);
