//! The JWT guard against missing, malformed, forged, expired and orphaned tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{TestApp, JWT_SECRET};
use crate::on_every_database;

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

async fn expect_invalid(app: &TestApp, token: &str, why: &str) {
    let reply = app.get_with_token("/auth/me", token).await;
    assert_eq!(reply.status, 401, "{why}: {}", reply.text);
    assert_eq!(reply.error(), "invalid_token", "{why}: {}", reply.text);
    assert!(
        reply
            .header("www-authenticate")
            .contains("error=\"invalid_token\""),
        "{why}"
    );
}

async fn the_issued_token_carries_the_contract_claims(app: TestApp) {
    let (token, id) = app.registered("claims@example.com").await;
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], id.to_string());
    for claim in ["iat", "exp"] {
        assert!(claims[claim].is_i64(), "{claim}");
    }
    for claim in ["jti", "sid"] {
        assert!(
            claims[claim]
                .as_str()
                .is_some_and(|v| uuid::Uuid::parse_str(v).is_ok()),
            "{claim}"
        );
    }
    assert_eq!(claims["iss"], "patient-auth");
    assert_eq!(claims["aud"], "patient-app");
    assert_eq!(
        claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
        3600
    );
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().expect("header"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "HS256");
}

async fn no_or_a_non_bearer_authorization_is_missing_token(app: TestApp) {
    for header in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer    "),
        Some(""),
    ] {
        let mut request = app.client.get(format!("{}/auth/me", app.address));
        if let Some(value) = header {
            request = request.header("Authorization", value);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 401, "{header:?}");
        assert_eq!(reply.error(), "missing_token", "{header:?}");
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
}

async fn malformed_tokens_are_invalid_not_errors(app: TestApp) {
    let long = "a".repeat(10 * 1024);
    for token in [
        "abc",
        "a.b.c",
        "..",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "💥.💥.💥",
        long.as_str(),
    ] {
        expect_invalid(&app, token, token).await;
    }
}

async fn forged_tokens_are_invalid(app: TestApp) {
    let (token, _) = app.registered("forged@example.com").await;
    let claims = claims_of(&token);

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    expect_invalid(&app, &format!("{none_header}.{body}."), "alg none").await;
    expect_invalid(&app, &sign(&claims, Algorithm::HS512, JWT_SECRET), "HS512").await;
    expect_invalid(
        &app,
        &sign(
            &claims,
            Algorithm::HS256,
            "another-secret-another-secret-another",
        ),
        "another secret",
    )
    .await;

    let mut wrong_issuer = claims.clone();
    wrong_issuer["iss"] = json!("evil");
    expect_invalid(
        &app,
        &sign(&wrong_issuer, Algorithm::HS256, JWT_SECRET),
        "issuer",
    )
    .await;
    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("admin");
    expect_invalid(
        &app,
        &sign(&wrong_audience, Algorithm::HS256, JWT_SECRET),
        "audience",
    )
    .await;

    // The original signature over a payload naming another patient.
    let mut tampered = claims.clone();
    tampered["sub"] = json!("999999");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered_token = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(tampered.to_string()),
        parts[2]
    );
    expect_invalid(&app, &tampered_token, "tampered payload").await;
}

async fn a_session_of_another_patient_cannot_be_borrowed(app: TestApp) {
    let (token_a, _) = app.registered("owner@example.com").await;
    let (_, id_b) = app.registered("borrower@example.com").await;
    let mut claims = claims_of(&token_a);
    claims["sub"] = json!(id_b.to_string());
    expect_invalid(
        &app,
        &sign(&claims, Algorithm::HS256, JWT_SECRET),
        "sid of another patient",
    )
    .await;
    let mut unknown = claims_of(&token_a);
    unknown["sid"] = json!(uuid::Uuid::new_v4().to_string());
    expect_invalid(
        &app,
        &sign(&unknown, Algorithm::HS256, JWT_SECRET),
        "unknown session",
    )
    .await;
}

async fn expiry_is_token_expired_only_beyond_the_leeway(app: TestApp) {
    let (token, _) = app.registered("expiry@example.com").await;
    app.clock.advance(Duration::seconds(3600 + 29));
    assert_eq!(
        app.get_with_token("/auth/me", &token).await.status,
        200,
        "within the 30 s leeway"
    );
    app.clock.advance(Duration::seconds(2));
    let reply = app.get_with_token("/auth/me", &token).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.error(), "token_expired");
    assert!(reply
        .header("www-authenticate")
        .contains("error=\"invalid_token\""));
}

async fn the_token_of_a_deleted_patient_is_invalid(app: TestApp) {
    let (token, id) = app.registered("deleted@example.com").await;
    app.sql(&format!("DELETE FROM patients WHERE patient_id = {id}"))
        .await;
    expect_invalid(&app, &token, "deleted patient").await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM auth_sessions").await,
        0,
        "sessions go with the patient"
    );
}

on_every_database!(
    the_issued_token_carries_the_contract_claims,
    no_or_a_non_bearer_authorization_is_missing_token,
    malformed_tokens_are_invalid_not_errors,
    forged_tokens_are_invalid,
    a_session_of_another_patient_cannot_be_borrowed,
    expiry_is_token_expired_only_beyond_the_leeway,
    the_token_of_a_deleted_patient_is_invalid,
);
