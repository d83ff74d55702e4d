//! The test harness: the real application on port 0, a fresh database per test on SQLite,
//! PostgreSQL or MariaDB (created, then dropped), and small HTTP helpers.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use api::settings::Settings;
use api::startup::Application;
use chrono::Utc;
use database::{connect, DatabaseUrl, Db, PoolSettings, SettingsSources};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use service::{Clock, ManualClock};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The secret every test server signs with.
pub const JWT_SECRET: &str = "test-secret-0123456789abcdef-0123456789abcdef";
/// A password that passes every rule.
pub const PASSWORD: &str = "correct-horse-battery";

/// The database engines the suites run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
    /// Only with `MSSQL_URL` (an admin login, e.g. `mssql://sa:…@127.0.0.1:1433/master?…`).
    MsSql,
}

/// One test's database: created for it, dropped after it.
pub struct TestDatabase {
    pub backend: Backend,
    /// URL the application connects to.
    pub url: String,
    /// For PostgreSQL/MariaDB: the admin URL and database name, to drop it afterwards.
    server: Option<(String, String)>,
    /// For SQLite: the folder holding the file.
    _dir: Option<tempfile::TempDir>,
}

fn admin_url(backend: Backend) -> String {
    match backend {
        Backend::Postgres => std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        Backend::MariaDb => std::env::var("TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
        Backend::MsSql => std::env::var("MSSQL_URL").unwrap_or_default(),
        Backend::Sqlite => String::new(),
    }
}

async fn admin_connection(url: &str) -> Result<Db, String> {
    let parsed = DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    let pool = PoolSettings {
        max_connections: 2,
        connect_timeout: Duration::from_secs(3),
        acquire_timeout: Duration::from_secs(3),
        lazy: false,
    };
    connect(&parsed, &pool).await.map_err(|e| e.to_string())
}

impl TestDatabase {
    /// A fresh database, or `None` (with a printed reason) when its server cannot be reached
    /// outside CI. In CI (`CI=true`) an unreachable server fails the test.
    pub async fn create(backend: Backend) -> Option<Self> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().expect("temporary folder");
            let url = format!(
                "sqlite:////{}",
                dir.path()
                    .join("test.db")
                    .display()
                    .to_string()
                    .trim_start_matches('/')
            );
            return Some(Self {
                backend,
                url,
                server: None,
                _dir: Some(dir),
            });
        }
        let admin = admin_url(backend);
        if backend == Backend::MsSql && admin.is_empty() {
            eprintln!("SKIPPED: MSSQL_URL is not set, so nothing ran against SQL Server");
            return None;
        }
        let connection = match admin_connection(&admin).await {
            Ok(connection) => connection,
            Err(error) => {
                let message = format!("{backend:?} test server unreachable at {admin}: {error}");
                if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                    panic!("{message} (CI=true: this is a failure, not a skip)");
                }
                eprintln!("SKIPPED: {message}");
                return None;
            }
        };
        let name = format!("pa_test_{}", uuid::Uuid::new_v4().simple());
        let create = match backend {
            Backend::Postgres => format!("CREATE DATABASE {name}"),
            Backend::MsSql => format!(
                "{} CREATE DATABASE {name}",
                database::mssql::translate::TSQL_MARKER
            ),
            _ => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        };
        // Babelfish answers concurrent CREATE DATABASEs with "tuple concurrently updated"
        // (PostgreSQL's catalog underneath); a second try goes through.
        let mut attempt = 1;
        while let Err(error) = connection.execute_unprepared(&create).await {
            assert!(attempt < 5, "create test database: {error}");
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
        Some(Self {
            backend,
            url: with_database(&admin, &name),
            server: Some((admin, name)),
            _dir: None,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.server.take() else {
            return;
        };
        let backend = self.backend;
        // Drop runs inside the test's runtime; the cleanup gets a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let Ok(connection) = admin_connection(&admin).await else {
                    return;
                };
                let marker = database::mssql::translate::TSQL_MARKER;
                let drop = match backend {
                    Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    Backend::MsSql => format!("{marker} IF DB_ID(N'{name}') IS NOT NULL DROP DATABASE {name}"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                };
                let mut outcome = connection.execute_unprepared(&drop).await.map(drop_result);
                if outcome.is_err() && backend == Backend::MsSql {
                    // SQL Server refuses to drop a database that still has sessions (a test's
                    // pool closing in the background): take it over first. Babelfish has no
                    // ALTER DATABASE, but drops such a database at the first attempt.
                    outcome = connection
                        .execute_unprepared(&format!(
                            "{marker} IF DB_ID(N'{name}') IS NOT NULL BEGIN ALTER DATABASE {name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE {name}; END"
                        ))
                        .await
                        .map(drop_result);
                }
                if let Err(error) = outcome {
                    eprintln!("could not drop test database {name}: {error}");
                }
            });
        });
        let _ = cleanup.join();
    }
}

fn drop_result(_: sea_orm::ExecResult) {}

/// Runs SQL exactly as written on `db`, as an operator's tool would (untranslated on SQL Server).
pub async fn operator_sql(db: &Db, backend: Backend, sql: &str) {
    let sql = if backend == Backend::MsSql {
        format!("{} {sql}", database::mssql::translate::TSQL_MARKER)
    } else {
        sql.to_owned()
    };
    db.execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The admin URL with its database replaced by `name` (query options kept).
fn with_database(admin: &str, name: &str) -> String {
    let (before_query, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let base = before_query
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("admin url has a database");
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A separate connection to the same database, for arranging and inspecting rows.
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub database: TestDatabase,
    servers: Vec<actix_web::dev::ServerHandle>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for server in &self.servers {
            // Sends the stop command now; the returned future only waits for it.
            drop(server.stop(false));
        }
    }
}

/// The settings a test server runs with, through the same loader as production.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = [
        ("APP_ENV", "test"),
        ("DATABASE_URL", database_url),
        ("JWT_SECRET", JWT_SECRET),
        ("PORT", "0"),
        ("HTTP_WORKERS", "1"),
        ("DB_MAX_CONNECTIONS", "5"),
        ("DB_ACQUIRE_TIMEOUT_SECONDS", "2"),
        ("DB_CONNECT_TIMEOUT_SECONDS", "2"),
        ("PASSWORD_HASH_CONCURRENCY", "2"),
        // Suites log in many times from 127.0.0.1; the rate-limit suite turns limits back on.
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("PASSWORD_RESET_LIMIT", "0"),
        // Short, so that the suites stay quick; the recovery suite measures the real default.
        ("PASSWORD_RESET_REQUEST_MS", "20"),
        ("MAIL_RETRY_BASE_SECONDS", "1"),
        ("MAIL_RETRY_MAX_SECONDS", "2"),
        ("MAIL_POLL_INTERVAL_SECONDS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Mail of suites that do not read it goes to files under the build's scratch folder, not
    // into the working directory.
    let outbox = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("mail-outbox")
        .join(uuid::Uuid::new_v4().simple().to_string());
    env.insert("MAIL_OUTBOX_DIR".into(), outbox.display().to_string());
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    Settings::load(&SettingsSources::only(env)).expect("test settings are valid")
}

/// Starts the application on a fresh database of `backend`; `None` when skipped.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let database = TestDatabase::create(backend).await?;
    Some(spawn_app_on(database).await)
}

/// Starts the application on a database a test has already arranged.
pub async fn spawn_app_on(database: TestDatabase) -> TestApp {
    spawn_app_with(database, &[]).await
}

/// Starts the application on `database` with extra settings.
pub async fn spawn_app_with(database: TestDatabase, extra: &[(&str, &str)]) -> TestApp {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (address, handle) = start_server(&database.url, clock.clone(), extra).await;
    let db = database.connect_pool(3).await;
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        clock,
        database,
        servers: vec![handle],
    }
}

impl TestDatabase {
    /// A separate connection to this database, for arranging rows before a server starts.
    pub async fn connect(&self) -> Db {
        self.connect_pool(1).await
    }

    /// A pool of `max_connections` to this database, beside any server's.
    pub async fn connect_pool(&self, max_connections: u32) -> Db {
        connect(
            &DatabaseUrl::parse(&self.url).expect("url"),
            &PoolSettings {
                max_connections,
                ..PoolSettings::default()
            },
        )
        .await
        .expect("test connection")
    }
}

/// Starts one more server; returns its base URL and stop handle.
pub async fn start_server(
    database_url: &str,
    clock: Arc<dyn Clock>,
    extra: &[(&str, &str)],
) -> (String, actix_web::dev::ServerHandle) {
    let app = Application::build_with_clock(test_settings(database_url, extra), clock)
        .await
        .expect("application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    (address, handle)
}

/// A server on a fresh SQLite database with extra settings, for suites about the HTTP layer rather
/// than the database; returns its base URL, the database (dropped with it) and its stop handle.
pub async fn sqlite_server(
    extra: &[(&str, &str)],
) -> (String, TestDatabase, actix_web::dev::ServerHandle) {
    let database = TestDatabase::create(Backend::Sqlite)
        .await
        .expect("sqlite is always there");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (address, handle) = start_server(&database.url, clock, extra).await;
    (address, database, handle)
}

/// A server on a fresh database of `backend` with extra settings; `None` when skipped.
pub async fn server_on(
    backend: Backend,
    extra: &[(&str, &str)],
) -> Option<(String, TestDatabase, actix_web::dev::ServerHandle)> {
    let database = TestDatabase::create(backend).await?;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (address, handle) = start_server(&database.url, clock, extra).await;
    Some((address, database, handle))
}

/// Runs `test` against a fresh application on `backend` (or prints why it was skipped).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(app) = spawn_app(backend).await {
        test(app).await;
    }
}

/// Declares each listed `async fn(TestApp)` as a test on SQLite, PostgreSQL and MariaDB.
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { $crate::helpers::run($crate::helpers::Backend::Sqlite, super::$name).await; } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { $crate::helpers::run($crate::helpers::Backend::Postgres, super::$name).await; } )*
        }
        mod mariadb {
            $( #[tokio::test] async fn $name() { $crate::helpers::run($crate::helpers::Backend::MariaDb, super::$name).await; } )*
        }
        /// SQL Server runs only where one exists: `MSSQL_URL=… cargo test -- --include-ignored`.
        mod mssql {
            $(
                #[tokio::test]
                #[ignore = "needs a SQL Server: set MSSQL_URL and pass --include-ignored"]
                async fn $name() { $crate::helpers::run($crate::helpers::Backend::MsSql, super::$name).await; }
            )*
        }
    };
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `error` code of an error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Sends a request and reads the reply.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        read(request.send().await.expect("request sent")).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.address))
                .json(body),
        )
        .await
    }

    /// `GET path` with a bearer token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}{path}", self.address))
                .bearer_auth(token),
        )
        .await
    }

    /// `POST path` with a bearer token and no body.
    pub async fn post_with_token(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.address))
                .bearer_auth(token),
        )
        .await
    }

    /// Registers a patient and returns the reply.
    pub async fn register(&self, name: &str, email: &str, password: &str) -> Reply {
        self.post_json(
            "/auth/register",
            &json!({"name": name, "email": email, "password": password}),
        )
        .await
    }

    /// Registers a patient with the standard password and returns (access token, patient id).
    pub async fn registered(&self, email: &str) -> (String, i64) {
        let reply = self.register("Test Patient", email, PASSWORD).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        (
            reply.body["token"].as_str().expect("token").to_owned(),
            reply.body["patient"]["patient_id"].as_i64().expect("id"),
        )
    }

    /// Logs in by email and returns the reply.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post_json(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Runs SQL on the test database, as an operator would.
    pub async fn sql(&self, sql: &str) {
        self.db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs SQL exactly as written, as an operator's tool would (untranslated on SQL Server).
    pub async fn operator_sql(&self, sql: &str) {
        operator_sql(&self.db, self.database.backend, sql).await;
    }

    /// The first column of the single row a query returns.
    pub async fn sql_value<T: sea_orm::TryGetable>(&self, sql: &str) -> T {
        let row = self
            .db
            .query_one(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: no row"));
        row.try_get_by_index::<T>(0)
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    }

    /// A single text value from a query.
    pub async fn sql_text(&self, sql: &str) -> String {
        self.sql_value(sql).await
    }

    /// A count from a query.
    pub async fn sql_count(&self, sql: &str) -> i64 {
        self.sql_value(sql).await
    }

    /// Starts a second server on the same database, signing with the same secret.
    pub async fn another_instance(&mut self) -> String {
        self.another_instance_with(&[]).await
    }

    /// Starts another server on the same database with extra settings.
    pub async fn another_instance_with(&mut self, extra: &[(&str, &str)]) -> String {
        let (address, handle) = start_server(&self.database.url, self.clock.clone(), extra).await;
        self.servers.push(handle);
        address
    }

    /// Stops every server of this test and starts a fresh one on the same database (a restart).
    pub async fn restart(&mut self) {
        for server in self.servers.drain(..) {
            server.stop(true).await;
        }
        let (address, handle) = start_server(&self.database.url, self.clock.clone(), &[]).await;
        self.address = address;
        self.servers.push(handle);
    }
}

/// The first column of the single row `sql` returns on `db`, as a number.
pub async fn query_i64(db: &Db, sql: &str) -> i64 {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

/// Reads a response whole; a body that is not JSON becomes `Value::Null` (and fails JSON checks).
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body read");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// Forwards a local port to a server (database, Redis); `cut` drops the listener and every relayed connection.
pub struct Relay {
    /// The local port to connect to instead of the server's.
    pub port: u16,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("addr").port();
        Self {
            port,
            upstream,
            task: Some(tokio::spawn(relay(listener, upstream))),
        }
    }

    pub fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    pub async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind relay");
        self.task = Some(tokio::spawn(relay(listener, self.upstream)));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Accepts and relays; aborting this task drops the listener and, through the `JoinSet`, every
/// relayed connection with it.
async fn relay(listener: TcpListener, upstream: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut client, _)) = listener.accept().await {
        connections.spawn(async move {
            if let Ok(mut server) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
}
