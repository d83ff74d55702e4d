//! What browsers see: CORS only for the configured origins, and the security headers on every
//! response, errors included.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{read, sqlite_server, Reply};

const APP: &str = "http://localhost:5173";

async fn send(method: Method, url: String, headers: &[(&str, &str)]) -> Reply {
    let mut request = reqwest::Client::new().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send().await.expect("request sent")).await
}

fn preflight(origin: &str) -> [(&str, &str); 3] {
    [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "content-type, authorization",
        ),
    ]
}

#[tokio::test]
async fn listed_origins_get_cors_and_others_do_not() {
    let (address, _db, _server) = sqlite_server(&[(
        "CORS_ORIGINS",
        "http://localhost:5173, https://app.example.com",
    )])
    .await;

    let allowed = send(
        Method::OPTIONS,
        format!("{address}/auth/login"),
        &preflight(APP),
    )
    .await;
    assert!(
        allowed.status < 300,
        "preflight: {} {}",
        allowed.status,
        allowed.text
    );
    assert_eq!(allowed.header("access-control-allow-origin"), APP);
    assert!(allowed
        .header("access-control-allow-methods")
        .contains("POST"));
    let headers = allowed
        .header("access-control-allow-headers")
        .to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert!(
        allowed
            .header("access-control-allow-credentials")
            .is_empty(),
        "no cookies involved"
    );

    let health = send(Method::GET, format!("{address}/health"), &[("origin", APP)]).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.header("access-control-allow-origin"), APP);
    let exposed = health
        .header("access-control-expose-headers")
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );

    // An error still carries CORS headers, so the app can read the contract's error body.
    let error = send(
        Method::GET,
        format!("{address}/auth/me"),
        &[("origin", "https://app.example.com")],
    )
    .await;
    assert_eq!(error.status, 401);
    assert_eq!(
        error.header("access-control-allow-origin"),
        "https://app.example.com"
    );

    // A listed origin asking for a method or header the API does not take.
    for (method, headers) in [("PUT", "content-type"), ("POST", "x-evil")] {
        let refused = send(
            Method::OPTIONS,
            format!("{address}/auth/login"),
            &[
                ("origin", APP),
                ("access-control-request-method", method),
                ("access-control-request-headers", headers),
            ],
        )
        .await;
        assert_eq!(refused.status, 403, "{method} {headers}: {}", refused.text);
        assert_eq!(refused.error(), "cors_refused");
        assert!(refused.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    for stranger in ["https://evil.example", "http://localhost:5174", "null"] {
        let refused = send(
            Method::OPTIONS,
            format!("{address}/auth/login"),
            &preflight(stranger),
        )
        .await;
        assert!(
            refused.header("access-control-allow-origin").is_empty(),
            "{stranger}: {:?}",
            refused.headers
        );
        assert_eq!(refused.status, 403, "{stranger}: {}", refused.text);
        assert_eq!(refused.error(), "cors_refused");
        let simple = send(
            Method::GET,
            format!("{address}/health"),
            &[("origin", stranger)],
        )
        .await;
        assert!(simple.header("access-control-allow-origin").is_empty());
    }
}

#[tokio::test]
async fn without_cors_origins_there_are_no_cors_headers() {
    let (address, _db, _server) = sqlite_server(&[]).await;
    let reply = send(
        Method::OPTIONS,
        format!("{address}/auth/login"),
        &preflight(APP),
    )
    .await;
    assert!(reply.header("access-control-allow-origin").is_empty());
    assert_eq!(reply.status, 405, "{}", reply.text);
    assert_eq!(reply.error(), "method_not_allowed");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let (address, _db, _server) = sqlite_server(&[("RATE_LIMIT_PER_MINUTE", "1")]).await;
    let login = |body: serde_json::Value| {
        let address = address.clone();
        async move {
            read(
                reqwest::Client::new()
                    .post(format!("{address}/auth/login"))
                    .json(&body)
                    .send()
                    .await
                    .expect("sent"),
            )
            .await
        }
    };
    let replies = [
        send(Method::GET, format!("{address}/health"), &[]).await,
        send(Method::GET, format!("{address}/nowhere"), &[]).await,
        send(Method::DELETE, format!("{address}/auth/login"), &[]).await,
        send(Method::GET, format!("{address}/auth/me"), &[]).await,
        login(json!({"email": "a@example.com", "password": "wrong-password"})).await,
        login(json!({"email": "a@example.com", "password": "wrong-password"})).await,
    ];
    assert_eq!(
        replies.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 404, 405, 401, 401, 429]
    );
    for reply in &replies {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
            ("x-frame-options", "DENY"),
            ("cache-control", "no-store"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ] {
            assert_eq!(reply.header(name), value, "{name} on {}", reply.status);
        }
        assert!(!reply.header("x-request-id").is_empty());
        assert!(reply.header("content-type").starts_with("application/json"));
    }
}
