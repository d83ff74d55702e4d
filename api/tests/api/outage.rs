//! The database going away: `503 service_unavailable` with `Retry-After`, never a 500 or a 401,
//! and recovery by itself when it comes back. A TCP relay between the server and the database
//! is cut and restored to make the outage real.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use service::ManualClock;

use crate::helpers::{read, start_server, Backend, Relay, Reply, TestDatabase, PASSWORD};

async fn database_outage_is_503_and_recovers(backend: Backend) {
    let Some(database) = TestDatabase::create(backend).await else {
        return;
    };
    let upstream: SocketAddr = match backend {
        Backend::Postgres => "127.0.0.1:5432".to_owned(),
        Backend::MsSql => server_address(&database.url),
        _ => "127.0.0.1:3306".to_owned(),
    }
    .parse()
    .expect("address");
    let mut relay = Relay::start(upstream).await;
    let relayed_url = database.url.replacen(
        &format!(":{}/", upstream.port()),
        &format!(":{}/", relay.port),
        1,
    );
    assert_ne!(relayed_url, database.url, "the URL goes through the relay");
    let (address, server) =
        start_server(&relayed_url, Arc::new(ManualClock::new(Utc::now())), &[]).await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{address}{path}")).json(&body).send()
    };

    let registered = read(
        post(
            "/auth/register",
            json!({"name": "A", "email": "outage@example.com", "password": PASSWORD}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let token = registered.body["token"].as_str().expect("token").to_owned();

    relay.cut();
    let cut_at = std::time::Instant::now();
    let mut replies: Vec<Reply> = Vec::new();
    replies.push(
        read(
            client
                .get(format!("{address}/auth/me"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    replies.push(
        read(
            post(
                "/auth/login",
                json!({"email": "outage@example.com", "password": PASSWORD}),
            )
            .await
            .expect("send"),
        )
        .await,
    );
    replies.push(
        read(
            post(
                "/auth/register",
                json!({"name": "B", "email": "during@example.com", "password": PASSWORD}),
            )
            .await
            .expect("send"),
        )
        .await,
    );
    replies.push(
        read(
            client
                .get(format!("{address}/ready"))
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    // Four requests, each bounded by the pool's acquire timeout (2 s in the tests), not hung.
    let outage_answers = cut_at.elapsed();
    assert!(
        outage_answers < std::time::Duration::from_secs(12),
        "503s must come quickly: four took {outage_answers:?}"
    );
    for reply in &replies {
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.error(), "service_unavailable");
        assert_eq!(reply.header("retry-after"), "5");
    }
    let health = read(
        client
            .get(format!("{address}/health"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(health.status, 200, "the process itself is alive");

    relay.restore().await;
    let mut recovered = None;
    for _ in 0..20 {
        let reply = read(
            client
                .get(format!("{address}/auth/me"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("send"),
        )
        .await;
        if reply.status == 200 {
            recovered = Some(reply);
            break;
        }
        assert_eq!(reply.status, 503, "while recovering: {}", reply.text);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        recovered.is_some(),
        "the service recovers when the database is back"
    );
    // What was acknowledged before the outage is still there; what was refused is not.
    let login = read(
        post(
            "/auth/login",
            json!({"email": "outage@example.com", "password": PASSWORD}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let refused = read(
        post(
            "/auth/login",
            json!({"email": "during@example.com", "password": PASSWORD}),
        )
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(
        refused.status, 401,
        "the registration answered 503 left nothing"
    );
    drop(server.stop(false));
}

#[tokio::test]
async fn postgres_outage_is_503_and_recovers() {
    database_outage_is_503_and_recovers(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_outage_is_503_and_recovers() {
    database_outage_is_503_and_recovers(Backend::MariaDb).await;
}

#[tokio::test]
#[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
async fn mssql_outage_is_503_and_recovers() {
    database_outage_is_503_and_recovers(Backend::MsSql).await;
}

/// `host:port` of an `mssql://` URL (the test server's address is given as an IP).
fn server_address(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("mssql URL");
    format!(
        "{}:{}",
        parsed.host_str().expect("host"),
        parsed.port().unwrap_or(1433)
    )
}
