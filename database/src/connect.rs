//! Opening the connection pool for a [`DatabaseUrl`], with the settings each engine needs:
//! SQLite in WAL mode with a busy timeout and foreign keys on; short connect and acquire timeouts
//! everywhere, so that an unreachable database becomes a quick `503`, not a hang.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DbErr};
use secrecy::ExposeSecret;

use crate::db::{Db, SqlServerDb};
use crate::mssql::pool::TiberiusManager;
use crate::mssql_url::MssqlTarget;
use crate::url::{DatabaseUrl, SqliteTarget};

/// How the pool behaves.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held at once.
    pub max_connections: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// Open connections on first use instead of at start-up.
    pub lazy: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: default_pool_size(),
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            lazy: false,
        }
    }
}

/// Four connections per core, at least eight: enough to keep the cores busy while some wait on I/O.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 4).unwrap_or(u32::MAX).max(8)
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to the {engine} database at {target}: {source}")]
    Unreachable {
        /// Engine name.
        engine: &'static str,
        /// The URL with its password hidden.
        target: String,
        /// The driver's error.
        source: DbErr,
    },
    /// A SQLite file could not be opened or created.
    #[error("cannot open the SQLite database {path}: {source}. {advice}")]
    SqliteFile {
        /// The path as the URL named it.
        path: String,
        /// Which slash rule was applied, and what to write instead.
        advice: String,
        /// The driver's error.
        source: DbErr,
    },
    /// SQL Server could not be reached or refused the login.
    #[error("cannot connect to SQL Server at {target}: {message}")]
    SqlServer {
        /// The URL with its password hidden.
        target: String,
        /// What went wrong.
        message: String,
    },
}

/// Opens a connection pool.
pub async fn connect(url: &DatabaseUrl, pool: &PoolSettings) -> Result<Db, ConnectError> {
    let options = match url {
        DatabaseUrl::Sqlite(target) => sqlite_options(target, pool),
        DatabaseUrl::Postgres(raw) | DatabaseUrl::MySql(raw) => {
            let mut options = ConnectOptions::new(raw.expose_secret().to_owned());
            apply_pool(&mut options, pool);
            options
        }
        DatabaseUrl::MsSql(target) => return connect_sql_server(target, pool).await,
    };
    Database::connect(options)
        .await
        .map(Db::Native)
        .map_err(|source| match url {
            DatabaseUrl::Sqlite(SqliteTarget::File(path)) => ConnectError::SqliteFile {
                path: path.display().to_string(),
                advice: sqlite_advice(path),
                source,
            },
            _ => ConnectError::Unreachable {
                engine: url.engine(),
                target: url.to_string(),
                source,
            },
        })
}

/// Says which of SQLAlchemy's slash rules turned the URL into `path`, whether its folder
/// exists, and the URL for the other reading.
fn sqlite_advice(path: &std::path::Path) -> String {
    let working_dir = std::env::current_dir().unwrap_or_default();
    let (rule, resolved, other) = if path.is_absolute() {
        let relative = path.strip_prefix("/").unwrap_or(path).display().to_string();
        (
            "sqlite:////… (four slashes) names an absolute path".to_owned(),
            path.to_path_buf(),
            format!(
                "for {} relative to the working directory, write sqlite:///{relative}",
                working_dir.join(&relative).display()
            ),
        )
    } else {
        let resolved = working_dir.join(path);
        (
            format!(
                "sqlite:///… (three slashes) and sqlite://… name a path relative to the \
                 working directory {}",
                working_dir.display()
            ),
            resolved,
            format!(
                "for the absolute path /{}, write sqlite:////{}",
                path.display(),
                path.display()
            ),
        )
    };
    let folder = match resolved.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
            format!(" The folder {} does not exist.", parent.display())
        }
        _ => String::new(),
    };
    format!(
        "The URL was read as {} ({rule}).{folder} To name another file: {other}",
        resolved.display()
    )
}

/// Opens the SQL Server bridge's pool and checks that the server answers (unless lazy).
async fn connect_sql_server(target: &MssqlTarget, pool: &PoolSettings) -> Result<Db, ConnectError> {
    let failed = |message: String| ConnectError::SqlServer {
        target: target.to_string(),
        message,
    };
    let manager = TiberiusManager::new(target, pool.connect_timeout);
    let builder = bb8::Pool::builder()
        .max_size(pool.max_connections)
        .connection_timeout(pool.acquire_timeout)
        .test_on_check_out(false);
    let sql_server = if pool.lazy {
        builder.build_unchecked(manager)
    } else {
        builder
            .build(manager)
            .await
            .map_err(|e| failed(e.to_string()))?
    };
    let db = Db::SqlServer(
        SqlServerDb::new(sql_server)
            .await
            .map_err(|e| failed(e.to_string()))?,
    );
    if !pool.lazy {
        db.ping().await.map_err(|e| failed(e.to_string()))?;
    }
    Ok(db)
}

fn apply_pool(options: &mut ConnectOptions, pool: &PoolSettings) {
    options
        .max_connections(pool.max_connections)
        .min_connections(0)
        .acquire_timeout(pool.acquire_timeout)
        .connect_timeout(pool.connect_timeout)
        .connect_lazy(pool.lazy)
        // A ping before every checkout would double the round trips of each request; a broken
        // connection instead fails its query (a 503), is dropped, and the next one is fresh.
        .test_before_acquire(false)
        // Statement logging would print every query at INFO; slow ones are still reported.
        .sqlx_logging(false)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, Duration::from_secs(1));
}

fn sqlite_options(target: &SqliteTarget, pool: &PoolSettings) -> ConnectOptions {
    match target {
        SqliteTarget::Memory => {
            let mut options = ConnectOptions::new("sqlite::memory:");
            apply_pool(&mut options, pool);
            // Each connection to `:memory:` would be its own empty database.
            options.max_connections(1).min_connections(1);
            options
        }
        SqliteTarget::File(path) => {
            // The URL only selects the driver; the file and its pragmas are set on the options.
            let mut options = ConnectOptions::new("sqlite://patient-auth.db");
            apply_pool(&mut options, pool);
            let path = path.clone();
            options.map_sqlx_sqlite_opts(move |opts| {
                opts.filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
            options
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    #[tokio::test]
    async fn a_missing_sqlite_file_is_created_in_wal_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("new.db");
        let url = DatabaseUrl::parse(&format!(
            "sqlite:////{}",
            file.display().to_string().trim_start_matches('/')
        ))
        .expect("url");
        let db = connect(&url, &PoolSettings::default())
            .await
            .expect("connects");
        let row = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA journal_mode",
            ))
            .await
            .expect("query")
            .expect("row");
        assert_eq!(row.try_get_by_index::<String>(0).expect("text"), "wal");
        assert!(file.exists());
    }

    #[tokio::test]
    async fn a_sqlite_file_in_a_missing_folder_is_a_clear_error() {
        let url =
            DatabaseUrl::parse("sqlite:////nonexistent-folder-for-patient-auth/x.db").expect("url");
        let err = connect(&url, &PoolSettings::default())
            .await
            .expect_err("cannot create");
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent-folder-for-patient-auth/x.db"),
            "{message}"
        );
        assert!(message.contains("four slashes"), "{message}");
        assert!(
            message.contains("The folder /nonexistent-folder-for-patient-auth does not exist"),
            "{message}"
        );
        assert!(
            message.contains("write sqlite:///nonexistent-folder-for-patient-auth/x.db"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_relative_sqlite_url_that_cannot_be_opened_says_so_and_offers_the_absolute_form() {
        let url =
            DatabaseUrl::parse("sqlite:///missing-folder-for-patient-auth/x.db").expect("url");
        let err = connect(&url, &PoolSettings::default())
            .await
            .expect_err("cannot create");
        let message = err.to_string();
        let working_dir = std::env::current_dir().expect("cwd");
        assert!(message.contains("three slashes"), "{message}");
        assert!(
            message.contains(&format!(
                "{}/missing-folder-for-patient-auth/x.db",
                working_dir.display()
            )),
            "{message}"
        );
        assert!(
            message.contains("write sqlite:////missing-folder-for-patient-auth/x.db"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn sql_server_is_refused_until_supported() {
        let url = DatabaseUrl::parse("mssql://sa:secretpw@db/x").expect("url");
        let err = connect(&url, &PoolSettings::default())
            .await
            .expect_err("unsupported");
        assert!(!err.to_string().contains("secretpw"));
    }
}
