//! Parsing of `DATABASE_URL` in every form the contract accepts.
//!
//! Forms: `sqlite:…`, `postgres://…` (also `postgresql://` and SQLAlchemy's `postgresql+driver://`),
//! `mysql://…` (also `mariadb://` and `mysql+driver://`), and the three SQL Server forms handled by
//! [`crate::mssql_url`]. Errors name what is wrong without ever echoing a password.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use crate::mssql_url::MssqlTarget;

/// A parsed `DATABASE_URL`: which database engine, and how to reach it.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// An embedded SQLite database.
    Sqlite(SqliteTarget),
    /// A PostgreSQL server, as a normalised `postgres://` URL.
    Postgres(SecretString),
    /// A MySQL or MariaDB server, as a normalised `mysql://` URL.
    MySql(SecretString),
    /// A Microsoft SQL Server.
    MsSql(MssqlTarget),
}

/// Where an embedded SQLite database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqliteTarget {
    /// A file, created on first use if missing.
    File(PathBuf),
    /// A private in-memory database that disappears with the process.
    Memory,
}

/// Why a `DATABASE_URL` could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// The value is empty.
    #[error("DATABASE_URL is empty")]
    Empty,
    /// The scheme names a database this service does not support.
    #[error("DATABASE_URL scheme `{0}` is not supported (use sqlite, postgres, mysql, mssql, an ADO.NET string or mssql+pyodbc)")]
    UnsupportedScheme(String),
    /// The value has a known scheme but cannot be read.
    #[error("DATABASE_URL is malformed: {0}")]
    Malformed(String),
    /// Windows integrated authentication was asked for, which cannot work from this process.
    #[error("DATABASE_URL asks for Windows integrated authentication (trusted_connection / Integrated Security), which is not available from a Linux service: create a SQL Server login and put it in the URL instead, e.g. mssql://USER:PASSWORD@host:1433/db")]
    TrustedConnection,
}

impl DatabaseUrl {
    /// Parses a `DATABASE_URL` value in any accepted form.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(UrlError::Empty);
        }
        let Some((scheme, rest)) = split_scheme(raw) else {
            if crate::mssql_url::looks_like_ado_net(raw) {
                return crate::mssql_url::parse_ado_net(raw).map(Self::MsSql);
            }
            return Err(UrlError::Malformed(
                "expected a URL such as sqlite://patient-auth.db or postgres://user@host/db".into(),
            ));
        };
        let (engine, driver) = match scheme.split_once('+') {
            Some((engine, driver)) => (
                engine.to_ascii_lowercase(),
                Some(driver.to_ascii_lowercase()),
            ),
            None => (scheme.to_ascii_lowercase(), None),
        };
        match engine.as_str() {
            "sqlite" => Ok(Self::Sqlite(parse_sqlite(rest)?)),
            "postgres" | "postgresql" => {
                network_url("postgres", rest).map(|url| Self::Postgres(SecretString::from(url)))
            }
            "mysql" | "mariadb" => {
                network_url("mysql", rest).map(|url| Self::MySql(SecretString::from(url)))
            }
            "mssql" | "sqlserver" => {
                crate::mssql_url::parse_url(rest, driver.as_deref()).map(Self::MsSql)
            }
            other => Err(UrlError::UnsupportedScheme(other.to_owned())),
        }
    }

    /// A short name of the engine, for logs and errors.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
            Self::MySql(_) => "mysql",
            Self::MsSql(_) => "mssql",
        }
    }
}

/// Shows the URL with any password replaced, so it can be logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // SQLAlchemy's rules read back to the same file: three slashes, then the path (a fourth
            // slash when it is absolute).
            Self::Sqlite(SqliteTarget::File(path)) => write!(f, "sqlite:///{}", path.display()),
            Self::Sqlite(SqliteTarget::Memory) => f.write_str("sqlite::memory:"),
            Self::Postgres(url) | Self::MySql(url) => {
                f.write_str(&redact_password(url.expose_secret()))
            }
            Self::MsSql(target) => fmt::Display::fmt(target, f),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Splits `scheme:rest`; `None` when the value has no URL scheme (an ADO.NET string, say).
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = raw.split_once(':')?;
    let valid = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.');
    (valid && (rest.starts_with("//") || scheme.eq_ignore_ascii_case("sqlite")))
        .then_some((scheme, rest))
}

/// Reads the part after `sqlite:` with SQLAlchemy's rules, which the Flask `.env` files follow:
/// `sqlite:///rel.db` is relative, `sqlite:////abs.db` absolute; `sqlite://rel.db` and
/// `sqlite:rel.db` are relative too. Query parameters (`?mode=rwc`) are accepted and ignored:
/// the file is always created when missing.
fn parse_sqlite(rest: &str) -> Result<SqliteTarget, UrlError> {
    let without_query = rest.split_once('?').map_or(rest, |(path, _)| path);
    let path = without_query.strip_prefix("//").unwrap_or(without_query);
    let path = path.strip_prefix('/').unwrap_or(path);
    match path {
        "" => Err(UrlError::Malformed("sqlite URL names no file".into())),
        ":memory:" => Ok(SqliteTarget::Memory),
        _ => Ok(SqliteTarget::File(Path::new(path).to_path_buf())),
    }
}

/// Checks a client/server URL and rewrites its scheme to the one the driver expects.
fn network_url(scheme: &str, rest: &str) -> Result<String, UrlError> {
    let normalised = format!("{scheme}:{rest}");
    let parsed = ::url::Url::parse(&normalised)
        .map_err(|e| UrlError::Malformed(format!("{scheme} URL: {e}")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::Malformed(format!("{scheme} URL names no host")));
    }
    Ok(normalised)
}

/// Replaces the password of a URL with `***`.
fn redact_password(url: &str) -> String {
    match ::url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails for URLs that cannot have one, which we excluded.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_file(raw: &str) -> PathBuf {
        match DatabaseUrl::parse(raw) {
            Ok(DatabaseUrl::Sqlite(SqliteTarget::File(path))) => path,
            other => panic!("{raw} parsed as {other:?}"),
        }
    }

    #[test]
    fn sqlite_urls_follow_sqlalchemy_slash_rules() {
        assert_eq!(
            sqlite_file("sqlite:///patients.db"),
            PathBuf::from("patients.db")
        );
        assert_eq!(
            sqlite_file("sqlite:////var/lib/pa/patients.db"),
            PathBuf::from("/var/lib/pa/patients.db")
        );
        assert_eq!(
            sqlite_file("sqlite://data/patients.db"),
            PathBuf::from("data/patients.db")
        );
        assert_eq!(
            sqlite_file("sqlite:patients.db"),
            PathBuf::from("patients.db")
        );
        assert_eq!(
            sqlite_file("sqlite://patients.db?mode=rwc"),
            PathBuf::from("patients.db")
        );
        assert_eq!(sqlite_file("  SQLITE://x.db  "), PathBuf::from("x.db"));
    }

    #[test]
    fn a_sqlite_url_is_shown_in_a_form_that_reads_back_to_the_same_file() {
        for raw in [
            "sqlite:///patients.db",
            "sqlite:////var/lib/pa/patients.db",
            "sqlite:x.db",
        ] {
            let file = sqlite_file(raw);
            let shown = DatabaseUrl::parse(raw).expect("parses").to_string();
            assert_eq!(sqlite_file(&shown), file, "{raw} shown as {shown}");
        }
        assert_eq!(
            DatabaseUrl::parse("sqlite:////var/x.db")
                .expect("url")
                .to_string(),
            "sqlite:////var/x.db"
        );
    }

    #[test]
    fn sqlite_memory_forms_are_recognised() {
        for raw in ["sqlite::memory:", "sqlite://:memory:"] {
            assert!(
                matches!(
                    DatabaseUrl::parse(raw),
                    Ok(DatabaseUrl::Sqlite(SqliteTarget::Memory))
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn sqlite_without_a_file_is_an_error() {
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(UrlError::Malformed(_))
        ));
    }

    #[test]
    fn postgres_schemes_and_sqlalchemy_drivers_are_normalised() {
        for raw in [
            "postgres://u:p@db:5432/app",
            "postgresql://u:p@db:5432/app",
            "postgresql+psycopg://u:p@db:5432/app",
            "postgresql+psycopg2://u:p@db:5432/app",
        ] {
            match DatabaseUrl::parse(raw) {
                Ok(DatabaseUrl::Postgres(url)) => {
                    assert_eq!(url.expose_secret(), "postgres://u:p@db:5432/app")
                }
                other => panic!("{raw} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn mysql_and_mariadb_schemes_are_normalised() {
        for raw in [
            "mysql://root@127.0.0.1:3306/test",
            "mariadb://root@127.0.0.1:3306/test",
            "mysql+pymysql://root@127.0.0.1:3306/test",
        ] {
            match DatabaseUrl::parse(raw) {
                Ok(DatabaseUrl::MySql(url)) => {
                    assert_eq!(url.expose_secret(), "mysql://root@127.0.0.1:3306/test")
                }
                other => panic!("{raw} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_schemes_and_junk_are_rejected_with_a_reason() {
        assert_eq!(
            DatabaseUrl::parse("oracle://x/y").err(),
            Some(UrlError::UnsupportedScheme("oracle".into()))
        );
        assert_eq!(DatabaseUrl::parse("   ").err(), Some(UrlError::Empty));
        assert!(matches!(
            DatabaseUrl::parse("just words"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres:///nohost"),
            Err(UrlError::Malformed(_))
        ));
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let url = DatabaseUrl::parse("postgres://user:hunter2secret@db/app").expect("valid url");
        assert!(!format!("{url}").contains("hunter2secret"));
        assert!(!format!("{url:?}").contains("hunter2secret"));
        assert!(format!("{url}").contains("user:***@db"));
    }

    #[test]
    fn errors_never_echo_the_password() {
        let err =
            DatabaseUrl::parse("postgres://user:hunter2secret@[bad/app").expect_err("malformed");
        assert!(!err.to_string().contains("hunter2secret"), "{err}");
    }
}
