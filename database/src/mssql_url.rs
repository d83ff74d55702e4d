//! The three ways an operator names a SQL Server: `mssql://user:pass@host:1433/db?…`, an ADO.NET
//! connection string (`Server=…;Database=…;User Id=…;Password=…`), and the Flask backend's
//! SQLAlchemy URL `mssql+pyodbc://USER:PASS@SERVER\INSTANCE/DB?driver=…`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::url::UrlError;

/// Everything needed to open a connection to one SQL Server database.
#[derive(Clone)]
pub struct MssqlTarget {
    /// Host name or address; `(local)` and `.` are read as `localhost`.
    pub host: String,
    /// TCP port, when given; otherwise 1433, or the SQL Browser's answer for a named instance.
    pub port: Option<u16>,
    /// Named instance (`SERVER\INSTANCE`), when given.
    pub instance: Option<String>,
    /// Database name, when given (otherwise the login's default database).
    pub database: Option<String>,
    /// SQL Server login name.
    pub user: String,
    /// SQL Server login password.
    pub password: SecretString,
    /// Whether and how the connection is encrypted.
    pub encryption: MssqlEncryption,
    /// Accept the server's certificate without validating it (`TrustServerCertificate=true`).
    pub trust_server_certificate: bool,
}

/// The `Encrypt` option of a SQL Server connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MssqlEncryption {
    /// Not asked for in the URL; the driver's default applies.
    Default,
    /// `Encrypt=true`/`yes`/`mandatory`/`strict`.
    Required,
    /// `Encrypt=false`/`no`/`optional`.
    Off,
}

impl fmt::Display for MssqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mssql://{}:***@{}", self.user, self.host)?;
        if let Some(instance) = &self.instance {
            write!(f, "\\{instance}")?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "/{}", self.database.as_deref().unwrap_or(""))
    }
}

impl fmt::Debug for MssqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MssqlTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("instance", &self.instance)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"***")
            .field("encryption", &self.encryption)
            .field("trust_server_certificate", &self.trust_server_certificate)
            .finish()
    }
}

/// Options collected from a URL query or an ADO.NET string before they are checked.
#[derive(Default)]
struct RawOptions {
    host: Option<String>,
    database: Option<String>,
    user: Option<String>,
    password: Option<String>,
    encryption: Option<MssqlEncryption>,
    trust_server_certificate: bool,
}

impl RawOptions {
    /// Applies one `key=value` option; keys are case-insensitive and may contain spaces.
    fn apply(&mut self, key: &str, value: String) -> Result<(), UrlError> {
        let key: String = key
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "server" | "datasource" | "address" | "addr" | "networkaddress" => {
                self.host = Some(value)
            }
            "database" | "initialcatalog" => self.database = Some(value),
            "userid" | "uid" | "user" | "username" => self.user = Some(value),
            "password" | "pwd" => self.password = Some(value),
            "encrypt" => self.encryption = Some(parse_encrypt(&value)?),
            "trustservercertificate" => {
                self.trust_server_certificate = parse_bool("TrustServerCertificate", &value)?
            }
            "trustedconnection" | "integratedsecurity"
                if is_truthy(&value) || value.eq_ignore_ascii_case("sspi") =>
            {
                return Err(UrlError::TrustedConnection);
            }
            // Driver names, timeouts, application names and the like do not change where we connect.
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<MssqlTarget, UrlError> {
        let server = self
            .host
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| missing("server"))?;
        let (host, instance, port) = parse_server(&server)?;
        let user = self
            .user
            .filter(|u| !u.is_empty())
            .ok_or_else(|| missing("user"))?;
        let password = self.password.ok_or_else(|| missing("password"))?;
        Ok(MssqlTarget {
            host,
            port,
            instance,
            database: self.database.filter(|d| !d.is_empty()),
            user,
            password: SecretString::from(password),
            encryption: self.encryption.unwrap_or(MssqlEncryption::Default),
            trust_server_certificate: self.trust_server_certificate,
        })
    }
}

fn missing(what: &str) -> UrlError {
    UrlError::Malformed(format!("SQL Server connection names no {what}"))
}

/// Reads `host`, `tcp:host,port`, `host:port`, `host\instance` and `(local)`.
fn parse_server(server: &str) -> Result<(String, Option<String>, Option<u16>), UrlError> {
    let server = server.trim();
    let server = server.strip_prefix("tcp:").unwrap_or(server);
    let (host_part, port) = match server.rsplit_once(',').or_else(|| server.rsplit_once(':')) {
        Some((host, port)) => {
            let port = port.trim().parse::<u16>().map_err(|_| {
                UrlError::Malformed("SQL Server port is not a number from 1 to 65535".into())
            })?;
            (host.trim(), Some(port))
        }
        None => (server, None),
    };
    let (host, instance) = match host_part.split_once('\\') {
        Some((host, instance)) if !instance.is_empty() => (host, Some(instance.to_owned())),
        Some(_) => {
            return Err(UrlError::Malformed(
                "SQL Server instance name is empty".into(),
            ))
        }
        None => (host_part, None),
    };
    let host = match host {
        "(local)" | "." | "(localdb)" => "localhost".to_owned(),
        "" => return Err(missing("server")),
        other => other.to_owned(),
    };
    Ok((host, instance, port))
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "1"
    )
}

fn parse_bool(key: &str, value: &str) -> Result<bool, UrlError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(UrlError::Malformed(format!("{key} must be true or false"))),
    }
}

fn parse_encrypt(value: &str) -> Result<MssqlEncryption, UrlError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "mandatory" | "strict" => Ok(MssqlEncryption::Required),
        "false" | "no" | "0" | "optional" => Ok(MssqlEncryption::Off),
        _ => Err(UrlError::Malformed("Encrypt must be true or false".into())),
    }
}

/// Parses what follows `mssql:` (or `mssql+pyodbc:`): `//user:pass@server[\instance][:port]/db?opts`.
///
/// This is not handed to a URL parser because `SERVER\INSTANCE` is not a valid URL host.
pub(crate) fn parse_url(rest: &str, _driver: Option<&str>) -> Result<MssqlTarget, UrlError> {
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| UrlError::Malformed("mssql URL must start with mssql://".into()))?;
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = before_query.split_once('/').unwrap_or((before_query, ""));
    // Without `USER:PASSWORD@` the options are still read, so that `trusted_connection=yes`
    // gets its own explanation rather than "no user".
    let (credentials, server) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));

    let mut options = RawOptions {
        host: Some(percent_decode(server)?),
        database: Some(percent_decode(database)?),
        user: Some(percent_decode(user)?),
        password: Some(percent_decode(password)?),
        ..RawOptions::default()
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        options.apply(
            &percent_decode(key)?,
            percent_decode(&value.replace('+', " "))?,
        )?;
    }
    options.finish()
}

/// Whether a value without a URL scheme is an ADO.NET connection string.
pub(crate) fn looks_like_ado_net(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    raw.contains('=')
        && ["server", "data source", "address", "addr"]
            .iter()
            .any(|k| lower.contains(k))
}

/// Parses `Key=Value;Key=Value`, with `{…}`, `"…"` or `'…'` quoting for values holding `;`.
pub(crate) fn parse_ado_net(raw: &str) -> Result<MssqlTarget, UrlError> {
    let mut options = RawOptions::default();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let (key, after_key) = rest.split_once('=').ok_or_else(|| {
            UrlError::Malformed("ADO.NET connection string has a part without `=`".into())
        })?;
        let after_key = after_key.trim_start();
        let (value, remaining) = take_ado_value(after_key)?;
        options.apply(key.trim(), value)?;
        rest = remaining.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
    }
    options.finish()
}

/// Takes one value and returns it with what follows its terminating `;`.
fn take_ado_value(input: &str) -> Result<(String, &str), UrlError> {
    let closing = match input.chars().next() {
        Some('{') => Some('}'),
        Some('"') => Some('"'),
        Some('\'') => Some('\''),
        _ => None,
    };
    let Some(close) = closing else {
        let (value, rest) = input.split_once(';').unwrap_or((input, ""));
        return Ok((value.trim().to_owned(), rest));
    };
    // A doubled closing character inside a quoted value stands for itself.
    let mut value = String::new();
    let mut chars = input[1..].char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c == close {
            if chars.peek().map(|&(_, next)| next) == Some(close) {
                value.push(close);
                chars.next();
                continue;
            }
            let after = &input[1 + index + c.len_utf8()..];
            let after = after.trim_start();
            if !(after.is_empty() || after.starts_with(';')) {
                return Err(UrlError::Malformed(
                    "ADO.NET connection string has text after a quoted value".into(),
                ));
            }
            return Ok((value, after.strip_prefix(';').unwrap_or(after)));
        }
        value.push(c);
    }
    Err(UrlError::Malformed(
        "ADO.NET connection string has an unterminated quoted value".into(),
    ))
}

fn percent_decode(input: &str) -> Result<String, UrlError> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| UrlError::Malformed("mssql URL has a bad %-escape".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| UrlError::Malformed("mssql URL is not UTF-8 after %-decoding".into()))
}

impl MssqlTarget {
    /// The password, for the driver only.
    pub fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use crate::{DatabaseUrl, MssqlEncryption, MssqlTarget, UrlError};

    fn mssql(raw: &str) -> MssqlTarget {
        match DatabaseUrl::parse(raw) {
            Ok(DatabaseUrl::MsSql(target)) => target,
            other => panic!("{raw} parsed as {other:?}"),
        }
    }

    #[test]
    fn mssql_url_with_port_database_and_tls_options() {
        let t = mssql("mssql://sa:p%40ss%3Bword@db.example:1433/patients?encrypt=true&TrustServerCertificate=true");
        assert_eq!(t.host, "db.example");
        assert_eq!(t.port, Some(1433));
        assert_eq!(t.database.as_deref(), Some("patients"));
        assert_eq!(t.user, "sa");
        assert_eq!(t.password(), "p@ss;word");
        assert_eq!(t.encryption, MssqlEncryption::Required);
        assert!(t.trust_server_certificate);
    }

    #[test]
    fn flask_pyodbc_url_with_named_instance_and_driver() {
        let t = mssql("mssql+pyodbc://USER:PASS@SERVER\\SQLEXPRESS/PatientsDB?driver=ODBC+Driver+17+for+SQL+Server");
        assert_eq!(t.host, "SERVER");
        assert_eq!(t.instance.as_deref(), Some("SQLEXPRESS"));
        assert_eq!(t.port, None);
        assert_eq!(t.database.as_deref(), Some("PatientsDB"));
        assert_eq!(t.user, "USER");
        assert_eq!(t.password(), "PASS");
        assert_eq!(t.encryption, MssqlEncryption::Default);
    }

    #[test]
    fn local_server_aliases_mean_localhost() {
        assert_eq!(
            mssql("mssql+pyodbc://u:p@(local)/db?driver=x").host,
            "localhost"
        );
        assert_eq!(
            mssql("Server=.;Database=db;User Id=u;Password=p").host,
            "localhost"
        );
    }

    #[test]
    fn trusted_connection_is_refused_with_advice() {
        let err = DatabaseUrl::parse(
            "mssql+pyodbc://SERVER/DB?driver=ODBC+Driver+17+for+SQL+Server&trusted_connection=yes",
        )
        .expect_err("refused");
        assert_eq!(err, UrlError::TrustedConnection);
        assert!(err.to_string().contains("SQL Server login"));
        let err = DatabaseUrl::parse("Server=db;Database=x;Integrated Security=SSPI")
            .expect_err("refused");
        assert_eq!(err, UrlError::TrustedConnection);
    }

    #[test]
    fn ado_net_string_with_tcp_prefix_port_and_quoted_password() {
        let t = mssql("Server=tcp:db.example,1444;Initial Catalog=patients;User ID=app;Password={a;b}}c};Encrypt=False;TrustServerCertificate=yes");
        assert_eq!(t.host, "db.example");
        assert_eq!(t.port, Some(1444));
        assert_eq!(t.database.as_deref(), Some("patients"));
        assert_eq!(t.user, "app");
        assert_eq!(t.password(), "a;b}c");
        assert_eq!(t.encryption, MssqlEncryption::Off);
        assert!(t.trust_server_certificate);
    }

    #[test]
    fn ado_net_string_with_named_instance_and_double_quotes() {
        let t = mssql("Data Source=HOST\\PROD;Database=db;UID=u;PWD=\"x;y\"");
        assert_eq!(t.host, "HOST");
        assert_eq!(t.instance.as_deref(), Some("PROD"));
        assert_eq!(t.password(), "x;y");
    }

    #[test]
    fn broken_sql_server_strings_are_malformed_not_panics() {
        for raw in [
            "mssql://sa:pw@db:notaport/x",
            "mssql://db/x",
            "mssql://sa:pw@/x",
            "Server=db;Database=x;User Id=u;Password={unterminated",
            "Server=db;Database=x;User Id=u",
            "Server=db;junk",
            "mssql://sa:pw%zz@db/x",
            "mssql://sa:pw@db/x?encrypt=maybe",
            "mssql://sa:pw@db\\/x",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(raw), Err(UrlError::Malformed(_))),
                "{raw}"
            );
        }
    }

    #[test]
    fn display_and_debug_hide_the_password() {
        let t = mssql("mssql://sa:TopSecret99@db:1433/x");
        assert!(!format!("{t}").contains("TopSecret99"));
        assert!(!format!("{t:?}").contains("TopSecret99"));
    }
}
