//! The `patient-auth` binary as an operator runs it: no configuration at all, the operator
//! commands, and logs that never hold a secret.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{read, Reply, PASSWORD};

const BINARY: &str = env!("CARGO_BIN_EXE_patient-auth");

/// The binary with an environment holding only `PATH` and `vars`, run in `dir`.
pub(crate) fn command(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in vars {
        command.env(key, value);
    }
    command.kill_on_drop(true);
    command
}

/// Starts the server; returns the child, its base URL, and a task collecting its log lines.
async fn start(
    dir: &Path,
    vars: &[(&str, &str)],
) -> (Child, String, tokio::task::JoinHandle<String>) {
    let mut child = command(dir, vars)
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut log = String::new();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
            if let Some((_, address)) = message_of(&line).split_once("listening on ") {
                return address.trim().to_owned();
            }
        }
        panic!("server exited before listening:\n{log}");
    })
    .await
    .expect("server listens within 30 s");
    let collector = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log.push_str(&line);
            log.push('\n');
        }
        log
    });
    (child, address, collector)
}

/// The message of a log line: the `message` field of a JSON line, or a text line as it is.
fn message_of(line: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(json) => json["message"].as_str().unwrap_or_default().to_owned(),
        Err(_) => line.to_owned(),
    }
}

async fn stop(mut child: Child, log: tokio::task::JoinHandle<String>) -> String {
    let _ = child.start_kill();
    let _ = child.wait().await;
    log.await.expect("log collected")
}

#[tokio::test]
async fn with_no_configuration_the_server_listens_on_5000_with_a_sqlite_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, address, log) = start(dir.path(), &[]).await;
    assert_eq!(address, "http://127.0.0.1:5000");
    let client = reqwest::Client::new();
    let health = read(
        client
            .get(format!("{address}/health"))
            .send()
            .await
            .expect("health"),
    )
    .await;
    assert_eq!(health.body, json!({"status": "ok"}));
    let reply = read(
        client
            .post(format!("{address}/auth/register"))
            .json(&json!({"name": "N", "email": "n@example.com", "password": PASSWORD}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let log = stop(child, log).await;
    assert!(
        dir.path().join("patient-auth.db").exists(),
        "the SQLite file is created in the working directory"
    );
    assert!(
        log.contains("random secret"),
        "the missing secret is announced loudly:\n{log}"
    );
}

#[tokio::test]
async fn production_without_a_secret_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = command(dir.path(), &[("APP_ENV", "production")])
        .output()
        .await
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
}

#[tokio::test]
async fn no_password_token_or_hash_reaches_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "log-test-secret-0123456789abcdef-0123456789";
    let (child, address, log) = start(
        dir.path(),
        &[("PORT", "0"), ("JWT_SECRET", secret), ("RUST_LOG", "debug")],
    )
    .await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: &str| {
        client
            .post(format!("{address}{path}"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let password = "Very-Secret-Pass-42";
    let registered = read(
        post(
            "/auth/register",
            &json!({"name": "Log", "email": "log@example.com", "password": password}).to_string(),
        )
        .await
        .expect("send"),
    )
    .await;
    let token = registered.body["token"].as_str().expect("token").to_owned();
    let refresh = registered.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let mut replies: Vec<Reply> = Vec::new();
    for body in [
        json!({"email": "log@example.com", "password": password}).to_string(),
        json!({"email": "log@example.com", "password": "Wrong-Secret-Pass-43"}).to_string(),
        json!({"email": "log@example.com", "password": 424242}).to_string(),
        format!("{{\"email\": \"log@example.com\", \"password\": \"{password}\""),
    ] {
        replies.push(read(post("/auth/login", &body).await.expect("send")).await);
    }
    replies.push(
        read(
            client
                .get(format!("{address}/auth/me?token={token}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    replies.push(
        read(
            client
                .get(format!("{address}/auth/me"))
                .bearer_auth(format!("{token}x"))
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    replies.push(
        read(
            client
                .post(format!("{address}/auth/logout"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    let login_refresh = replies[0].body["refresh_token"]
        .as_str()
        .expect("refresh token of the login")
        .to_owned();
    replies.push(
        read(
            post(
                "/auth/refresh",
                &json!({"refresh_token": login_refresh.as_str()}).to_string(),
            )
            .await
            .expect("send"),
        )
        .await,
    );
    let refreshed = replies.last().map(|r| r.body.clone()).unwrap_or_default();
    let new_token = refreshed["token"].as_str().unwrap_or_default().to_owned();
    let new_refresh = refreshed["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let new_password = "Another-Secret-Pass-44";
    replies.push(
        read(
            client
                .post(format!("{address}/auth/change-password"))
                .bearer_auth(&new_token)
                .json(&json!({"current_password": password, "new_password": new_password}))
                .send()
                .await
                .expect("send"),
        )
        .await,
    );
    // A reused refresh token (theft detection) and a login refused by the rate limiter.
    replies.push(
        read(
            post(
                "/auth/refresh",
                &json!({"refresh_token": login_refresh.as_str()}).to_string(),
            )
            .await
            .expect("send"),
        )
        .await,
    );
    for _ in 0..7 {
        replies.push(
            read(
                post(
                    "/auth/login",
                    &json!({"email": "log@example.com", "password": new_password}).to_string(),
                )
                .await
                .expect("send"),
            )
            .await,
        );
    }
    assert_eq!(
        replies.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 401, 400, 400, 200, 401, 200, 200, 200, 401, 200, 200, 200, 200, 200, 200, 429]
    );

    let log = stop(child, log).await;
    let hash = {
        let url = format!(
            "sqlite:////{}",
            dir.path()
                .join("patient-auth.db")
                .display()
                .to_string()
                .trim_start_matches('/')
        );
        let db = database::connect(
            &database::DatabaseUrl::parse(&url).expect("url"),
            &database::PoolSettings::default(),
        )
        .await
        .expect("db");
        use sea_orm::ConnectionTrait;
        let row = db
            .query_one(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT password_hash FROM patients",
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index::<String>(0).expect("hash")
    };
    assert!(
        log.contains("/auth/login"),
        "the log has the requests:\n{log}"
    );
    for (what, needle) in [
        ("password", password),
        ("wrong password", "Wrong-Secret-Pass-43"),
        ("access token", token.as_str()),
        (
            "token signature",
            token.rsplit('.').next().unwrap_or_default(),
        ),
        ("refresh token", refresh.as_str()),
        ("login refresh token", login_refresh.as_str()),
        ("new access token", new_token.as_str()),
        ("new refresh token", new_refresh.as_str()),
        ("new password", new_password),
        ("password hash", hash.as_str()),
        ("jwt secret", secret),
    ] {
        assert!(!log.contains(needle), "the log contains the {what}:\n{log}");
    }
    // Every line is one JSON object; each request has an access line with its fields.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &lines {
        for field in ["time", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
    }
    let access: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["target"] == "access").collect();
    assert_eq!(
        access.len(),
        replies.len() + 1,
        "one line per request:\n{log}"
    );
    let me = access
        .iter()
        .find(|l| l["route"] == "/auth/me" && l["status"] == 200)
        .expect("the /auth/me line");
    assert_eq!(me["method"], "GET");
    assert!(
        me["patient_id"].as_i64().is_some(),
        "patient id known: {me}"
    );
    assert!(
        me["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{me}"
    );
    assert!(me["latency_ms"].as_f64().is_some(), "{me}");
    assert!(
        access
            .iter()
            .any(|l| l["status"] == 429 && l["route"] == "/auth/login"),
        "the refused login is logged:\n{log}"
    );
}

#[tokio::test]
async fn create_patient_and_demo_data_give_a_full_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vars = [("JWT_SECRET", "cli-test-secret-0123456789abcdef-0123456789")];
    let mut create = command(dir.path(), &vars)
        .args([
            "create-patient",
            "--email",
            "Operator.Made@Example.com",
            "--name",
            "Fatima Zahra",
            "--username",
            "fatima",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    create
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .await
        .expect("write");
    let output = create.wait_with_output().await.expect("finishes");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("operator.made@example.com"));

    let output = command(dir.path(), &vars)
        .args(["demo-data", "--email", "operator.made@example.com"])
        .output()
        .await
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = command(dir.path(), &vars)
        .args(["demo-data", "--email", "operator.made@example.com"])
        .output()
        .await
        .expect("runs");
    assert!(!again.status.success(), "demo data is not added twice");

    let (child, address, log) = start(dir.path(), &[vars[0], ("PORT", "0")]).await;
    let client = reqwest::Client::new();
    let login = read(
        client
            .post(format!("{address}/auth/login"))
            .json(&json!({"username": "fatima", "password": PASSWORD}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let profile = &login.body["patient"];
    assert_eq!(profile["name"], "Fatima Zahra");
    assert!(profile["doctor"]["name"].is_string());
    assert!(profile["caregiver"]["name"].is_string());
    assert_eq!(profile["prescriptions"].as_array().map(Vec::len), Some(3));
    stop(child, log).await;
}

#[tokio::test]
async fn create_patient_refuses_a_weak_password_and_a_taken_email() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |password: &'static str, email: &'static str| {
        let dir = dir.path().to_owned();
        async move {
            let mut child = command(&dir, &[])
                .args([
                    "create-patient",
                    "--email",
                    email,
                    "--name",
                    "N",
                    "--password-stdin",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("runs");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{password}\n").as_bytes())
                .await
                .expect("write");
            child.wait_with_output().await.expect("finishes")
        }
    };
    let weak = run("password", "weak@example.com").await;
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("common"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
    assert!(run(PASSWORD, "taken@example.com").await.status.success());
    let taken = run(PASSWORD, "TAKEN@example.com").await;
    assert!(!taken.status.success());
    assert!(
        String::from_utf8_lossy(&taken.stderr).contains("already"),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_cleanly() {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, address, log) = start(
        dir.path(),
        &[
            ("PORT", "0"),
            ("JWT_SECRET", "shutdown-test-secret-0123456789abcdef-0123"),
        ],
    )
    .await;
    let host = address.trim_start_matches("http://").to_owned();
    let body = json!({"name": "In Flight", "email": "inflight@example.com", "password": PASSWORD})
        .to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);

    // A registration whose body is still arriving when the signal comes.
    let mut stream = TcpStream::connect(&host).await.expect("connect");
    stream
        .write_all(
            format!(
                "POST /auth/register HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first_half}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .expect("send the first half");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().expect("running").to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(signalled.success());
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Stopped accepting: a new connection is refused (or closed unanswered).
    let refused = match TcpStream::connect(&host).await {
        Err(_) => true,
        Ok(mut late) => {
            let _ = late
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            let mut buffer = Vec::new();
            matches!(
                tokio::time::timeout(Duration::from_secs(2), late.read_to_end(&mut buffer)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        }
    };
    assert!(refused, "a new connection is not served after SIGTERM");

    // The request in flight is finished and answered.
    stream
        .write_all(second_half.as_bytes())
        .await
        .expect("send the second half");
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("answered before the shutdown timeout")
    .expect("read");
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");

    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits within the shutdown timeout")
        .expect("wait");
    assert!(status.success(), "clean exit: {status:?}");
    let log = log.await.expect("log collected");
    assert!(log.contains("closing the database pool"), "{log}");
    assert!(!log.contains("\"level\":\"ERROR\""), "{log}");
}

/// The token of the newest `.eml` in `outbox` whose name contains `kind`, with that file's name.
fn newest_link(outbox: &Path, kind: &str, page: &str) -> Option<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "eml")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(kind))
        })
        .collect();
    files.sort();
    let path = files.pop()?;
    let message = std::fs::read_to_string(&path).ok()?;
    let name = path.file_name()?.to_string_lossy().into_owned();
    Some((crate::mail_server::link_token(&message, page), name))
}

/// Waits up to 10 s for a new link of `kind` (not `before`) in `outbox`.
async fn wait_for_link(
    outbox: &Path,
    kind: &str,
    page: &str,
    before: Option<&str>,
) -> (String, String) {
    for _ in 0..200 {
        if let Some(found) = newest_link(outbox, kind, page) {
            if Some(found.0.as_str()) != before {
                return found;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {kind} message in {}", outbox.display());
}

#[tokio::test]
async fn with_no_configuration_a_reset_link_lands_in_the_outbox_folder_and_never_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, address, log) = start(
        dir.path(),
        &[("PORT", "0"), ("RUST_LOG", "debug"), ("LOG_FORMAT", "text")],
    )
    .await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let request = client.post(format!("{address}{path}")).json(&body);
        async move { read(request.send().await.expect("send")).await }
    };
    let email = "curl-user@example.com";
    let registered = post(
        "/auth/register",
        json!({"name": "Curl User", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let outbox = dir.path().join("outbox");
    let (verification, _) =
        wait_for_link(&outbox, "email_verification", "verify-email", None).await;
    let asked = post("/auth/password-reset/request", json!({"email": email})).await;
    assert_eq!(asked.status, 202);
    let (reset, file) = wait_for_link(&outbox, "password_reset", "reset-password", None).await;
    let new_password = "Chosen-After-Reset-77";
    let confirmed = post(
        "/auth/password-reset/confirm",
        json!({"token": reset, "new_password": new_password}),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let signed_in = post(
        "/auth/login",
        json!({"email": email, "password": new_password}),
    )
    .await;
    assert_eq!(signed_in.status, 200);
    let log = stop(child, log).await;
    assert!(
        log.contains(&format!("written to outbox/{file}")),
        "the log names the file:\n{log}"
    );
    for (what, needle) in [
        ("reset token", reset.as_str()),
        ("verification token", verification.as_str()),
        ("reset link", "reset-password#token"),
        ("verification link", "verify-email#token"),
        ("new password", new_password),
    ] {
        assert!(!log.contains(needle), "the log contains the {what}:\n{log}");
    }

    // An operator mails a new link to a patient who called support; the link is not printed.
    let output = command(dir.path(), &[])
        .args(["send-password-reset", "--email", email, "--language", "ar"])
        .output()
        .await
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("was sent to curl-user@example.com"),
        "{stdout}"
    );
    let (operator_link, file) =
        wait_for_link(&outbox, "password_reset", "reset-password", Some(&reset)).await;
    assert!(!stdout.contains(&operator_link) && !stderr.contains(&operator_link));
    let message = std::fs::read_to_string(outbox.join(&file)).expect("message");
    assert!(message.contains("Content-Language: ar"), "{message}");
    let unknown = command(dir.path(), &[])
        .args(["send-password-reset", "--email", "nobody@example.com"])
        .output()
        .await
        .expect("runs");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no patient with email"));
}
