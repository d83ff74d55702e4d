//! Fault injection on a PostgreSQL server of the test's own: an `initdb` cluster in a temporary
//! folder on a free port, crashed and stopped while registrations pour in. Only `201` and `503`
//! may come back, none slower than the configured timeout, the service recovers by itself, and
//! no registration acknowledged with `201` is missing afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use service::ManualClock;

use crate::helpers::{read, start_server, PASSWORD};

/// A PostgreSQL cluster in a temporary folder, owned by this test.
struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Set when the test runs as root, which PostgreSQL refuses: it then runs as `postgres`.
    run_as: Option<&'static str>,
}

/// The folder holding `initdb` and `pg_ctl`: `PG_BIN`, else Debian's layout.
fn postgres_bin() -> Option<PathBuf> {
    if let Ok(bin) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(bin));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl PrivateCluster {
    /// Creates and starts a cluster, or `None` (printed) outside CI when PostgreSQL's server
    /// programs are not installed.
    fn create() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            let message = "PostgreSQL server programs (initdb, pg_ctl) not found; set PG_BIN";
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{message} (CI=true: this is a failure, not a skip)");
            }
            eprintln!("SKIPPED: {message}");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let run_as = is_root().then_some("postgres");
        if let Some(user) = run_as {
            let owned = Command::new("chown")
                .args(["-R", user])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(owned.success(), "chown the cluster folder to {user}");
        }
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        );
        cluster.start();
        Some(cluster)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        let output = command
            .args(args)
            .output()
            .expect("PostgreSQL program runs");
        assert!(
            output.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server: `immediate` is a crash (no checkpoint, clients cut off), `fast` a clean
    /// shutdown that disconnects clients.
    fn stop(&self, mode: &str) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", mode, "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let program = self.bin.join("pg_ctl");
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// What the registration load saw.
#[derive(Default)]
struct Tally {
    acknowledged: Vec<String>,
    unavailable: usize,
    unexpected: Vec<String>,
    slowest: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_crashing_and_stopping_gives_503s_and_loses_no_registration() {
    let Some(cluster) = PrivateCluster::create() else {
        return;
    };
    let acquire_timeout = Duration::from_secs(2);
    let (address, _server) = start_server(
        &cluster.url(),
        Arc::new(ManualClock::new(Utc::now())),
        &[
            ("DB_ACQUIRE_TIMEOUT_SECONDS", "2"),
            ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
            ("DB_MAX_CONNECTIONS", "8"),
        ],
    )
    .await;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (address, tally, running) = (address.clone(), Arc::clone(&tally), Arc::clone(&running));
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let email = format!("fault-{worker}-{n}@example.com");
                let started = Instant::now();
                let sent = client
                    .post(format!("{address}/auth/register"))
                    .json(&json!({"name": "Fault Test", "email": email, "password": PASSWORD}))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let elapsed = started.elapsed();
                let outcome = match sent {
                    Ok(response) => {
                        let reply = read(response).await;
                        match reply.status {
                            201 => Ok(Some(email)),
                            503 if reply.error() == "service_unavailable"
                                && !reply.header("retry-after").is_empty() =>
                            {
                                Ok(None)
                            }
                            _ => Err(format!("{} {}", reply.status, reply.text)),
                        }
                    }
                    Err(error) => Err(format!("transport: {error}")),
                };
                {
                    let mut tally = tally.lock().expect("tally");
                    tally.slowest = tally.slowest.max(elapsed);
                    match outcome {
                        Ok(Some(email)) => tally.acknowledged.push(email),
                        Ok(None) => tally.unavailable += 1,
                        Err(unexpected) => tally.unexpected.push(unexpected),
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    let ready = |address: String| async move {
        for _ in 0..100 {
            if let Ok(reply) = reqwest::get(format!("{address}/ready")).await {
                if reply.status() == 200 {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };

    let mut faults = 0;
    for mode in ["immediate", "fast"] {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let cluster_ref = &cluster;
        tokio::task::block_in_place(|| cluster_ref.stop(mode));
        faults += 1;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let during = reqwest::get(format!("{address}/ready"))
            .await
            .expect("ready answers");
        assert_eq!(during.status(), 503, "/ready while the database is down");
        tokio::task::block_in_place(|| cluster_ref.start());
        assert!(
            ready(address.clone()).await,
            "recovers after the {mode} stop"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }

    let tally = Arc::try_unwrap(tally)
        .ok()
        .expect("workers done")
        .into_inner()
        .expect("tally");
    assert!(
        tally.unexpected.is_empty(),
        "only 201 and 503: {:?}",
        tally.unexpected
    );
    assert!(tally.unavailable > 0, "the faults were felt");
    assert!(tally.acknowledged.len() > 20, "registrations went through");
    assert!(
        tally.slowest < acquire_timeout + Duration::from_secs(3),
        "no request hung: slowest {:?}",
        tally.slowest
    );

    // Every acknowledged registration is in the database.
    let db = database::connect(
        &database::DatabaseUrl::parse(&cluster.url()).expect("url"),
        &database::PoolSettings::default(),
    )
    .await
    .expect("connect after the faults");
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT email FROM patients",
        ))
        .await
        .expect("patients");
    let stored: std::collections::HashSet<String> = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("email"))
        .collect();
    let lost: Vec<&String> = tally
        .acknowledged
        .iter()
        .filter(|email| !stored.contains(*email))
        .collect();
    println!(
        "fault test: {faults} faults injected, {} registrations acknowledged, {} answered 503, {} lost, slowest answer {:?} (cluster in {})",
        tally.acknowledged.len(),
        tally.unavailable,
        lost.len(),
        tally.slowest,
        cluster.path().display()
    );
    assert!(lost.is_empty(), "acknowledged but missing: {lost:?}");
    db.close().await.expect("close");
}
