//! The server's typed settings: read through the layered sources of the `database` crate, then
//! checked once at start-up with errors that name the offending key.

use std::time::Duration;

use database::{settings_sources, DatabaseUrl, PoolSettings, SettingsSources};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use service::mail::{DeliverySettings, MailIdentity, MailTransport};
use service::mfa::{RelyingParty, SecretBox};
use service::password::HashPriority;
use service::{AuthConfig, MfaConfig, RecoveryConfig};

use crate::client_ip::TrustedProxies;
use crate::rate_limit::{RateLimitSettings, RedisSettings};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Plain text, for a terminal.
    Text,
}

/// Which kind of deployment this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine: missing secrets are generated, with a loud warning.
    Development,
    /// Tests.
    Test,
    /// A real deployment: weak or missing secrets stop the server.
    Production,
}

/// Settings exactly as read, before checking. Keys are the lower-case environment names.
#[derive(Deserialize)]
struct RawSettings {
    app_env: AppEnv,
    host: String,
    port: u16,
    database_url: String,
    auto_migrate: bool,
    db_max_connections: u32,
    db_acquire_timeout_seconds: u64,
    db_connect_timeout_seconds: u64,
    secret_key: Option<SecretString>,
    jwt_secret: Option<SecretString>,
    jwt_exp_minutes: i64,
    jwt_leeway_seconds: i64,
    jwt_issuer: String,
    jwt_audience: String,
    refresh_token_exp_days: i64,
    refresh_reuse_grace_seconds: i64,
    max_body_bytes: usize,
    password_hash_concurrency: usize,
    password_hash_priority: HashPriority,
    http_workers: usize,
    session_cleanup_interval_seconds: u64,
    rate_limit_per_minute: u64,
    login_failure_limit: u64,
    login_failure_window_seconds: u64,
    trusted_proxies: String,
    redis_url: Option<String>,
    redis_key_prefix: String,
    redis_timeout_ms: u64,
    cors_origins: String,
    public_api_url: String,
    log_format: LogFormat,
    shutdown_timeout_seconds: u64,
    smtp_url: String,
    smtp_ca_file: String,
    smtp_timeout_seconds: u64,
    mail_from: String,
    public_app_url: String,
    mail_outbox_dir: String,
    mail_retry_base_seconds: u64,
    mail_retry_max_seconds: u64,
    mail_poll_interval_seconds: u64,
    ready_checks_mail: bool,
    password_reset_exp_minutes: i64,
    email_verification_exp_hours: i64,
    require_verified_email: bool,
    password_reset_limit: u64,
    password_reset_window_seconds: u64,
    password_reset_request_ms: u64,
    mfa_encryption_key: Option<SecretString>,
    mfa_issuer: String,
    mfa_failure_limit: u64,
    mfa_failure_window_seconds: u64,
    webauthn_rp_id: String,
    webauthn_origin: String,
}

/// Where mail goes and how it is written.
pub struct MailSettings {
    /// SMTP (`SMTP_URL`) or the outbox folder (`MAIL_OUTBOX_DIR`).
    pub transport: MailTransport,
    /// `MAIL_FROM` and `PUBLIC_APP_URL`.
    pub identity: MailIdentity,
    /// Retry pacing of the delivery worker.
    pub delivery: DeliverySettings,
    /// Whether `/ready` also asks the mail server (`READY_CHECKS_MAIL`).
    pub ready_checks_mail: bool,
}

/// Checked settings, ready to build the application from.
pub struct Settings {
    /// Deployment kind.
    pub app_env: AppEnv,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0 picks a free one).
    pub port: u16,
    /// The database.
    pub database: DatabaseUrl,
    /// Pool behaviour.
    pub pool: PoolSettings,
    /// Apply pending migrations at start-up.
    pub auto_migrate: bool,
    /// Token and hashing settings.
    pub auth: AuthConfig,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// HTTP worker threads (0 = one per core).
    pub http_workers: usize,
    /// How often expired sessions are deleted (`None`: never).
    pub session_cleanup_interval: Option<Duration>,
    /// Attempt limits.
    pub rate_limits: RateLimitSettings,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Redis, to share rate limits between instances.
    pub redis: Option<RedisSettings>,
    /// Origins allowed to call the API from a browser (empty: no CORS).
    pub cors_origins: Vec<String>,
    /// Where clients reach the API, for the OpenAPI document's `servers` (`None`: the
    /// document's own origin).
    pub public_api_url: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub shutdown_timeout_seconds: u64,
    /// Mail delivery.
    pub mail: MailSettings,
    /// Warnings to print once logging is up (secrets generated or borrowed, weak secrets).
    pub warnings: Vec<String>,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type; the message names the key.
    #[error("cannot read settings: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of its allowed range or otherwise unusable.
    #[error("invalid setting {key} ({env}): {reason}", env = .key.to_ascii_uppercase())]
    Invalid {
        /// The setting's key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Shortest HMAC secret accepted in production: 256 bits, HS256's own strength.
const MIN_SECRET_BYTES: usize = 32;

impl Settings {
    /// Reads and checks the settings from the given sources.
    pub fn load(sources: &SettingsSources) -> Result<Self, SettingsError> {
        let raw: RawSettings = settings_sources(sources)?.build()?.try_deserialize()?;
        Self::check(raw)
    }

    fn check(raw: RawSettings) -> Result<Self, SettingsError> {
        let mut warnings = Vec::new();
        if raw.host.trim().is_empty() {
            return Err(invalid("host", "must not be empty"));
        }
        let database = DatabaseUrl::parse(&raw.database_url)
            .map_err(|e| invalid("database_url", e.to_string()))?;
        let jwt_secret = choose_jwt_secret(
            raw.app_env,
            raw.jwt_secret.clone(),
            raw.secret_key.clone(),
            &mut warnings,
        )?;
        let mail = check_mail(&raw)?;
        let mfa = check_mfa(&raw, &jwt_secret)?;
        let exp_minutes = in_range("jwt_exp_minutes", raw.jwt_exp_minutes, 1, 1440)?;
        let leeway = in_range("jwt_leeway_seconds", raw.jwt_leeway_seconds, 0, 300)?;
        let reuse_grace = in_range(
            "refresh_reuse_grace_seconds",
            raw.refresh_reuse_grace_seconds,
            0,
            60,
        )?;
        let refresh_days = in_range("refresh_token_exp_days", raw.refresh_token_exp_days, 1, 365)?;
        let max_body_bytes =
            in_range("max_body_bytes", raw.max_body_bytes, 1024, 10 * 1024 * 1024)?;
        let acquire = in_range(
            "db_acquire_timeout_seconds",
            raw.db_acquire_timeout_seconds,
            1,
            300,
        )?;
        let connect = in_range(
            "db_connect_timeout_seconds",
            raw.db_connect_timeout_seconds,
            1,
            300,
        )?;
        let max_connections = in_range("db_max_connections", raw.db_max_connections, 0, 10_000)?;
        let hash_concurrency = in_range(
            "password_hash_concurrency",
            raw.password_hash_concurrency,
            0,
            1024,
        )?;
        for (key, value) in [
            ("jwt_issuer", &raw.jwt_issuer),
            ("jwt_audience", &raw.jwt_audience),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }

        let recovery = RecoveryConfig {
            password_reset_lifetime: chrono::Duration::minutes(in_range(
                "password_reset_exp_minutes",
                raw.password_reset_exp_minutes,
                5,
                1_440,
            )?),
            email_verification_lifetime: chrono::Duration::hours(in_range(
                "email_verification_exp_hours",
                raw.email_verification_exp_hours,
                1,
                720,
            )?),
            require_verified_email: raw.require_verified_email,
            reset_request_duration: Duration::from_millis(in_range(
                "password_reset_request_ms",
                raw.password_reset_request_ms,
                0,
                10_000,
            )?),
        };
        let rate_limits = RateLimitSettings {
            per_client_per_minute: in_range(
                "rate_limit_per_minute",
                raw.rate_limit_per_minute,
                0,
                100_000,
            )?,
            login_failures: in_range("login_failure_limit", raw.login_failure_limit, 0, 1_000)?,
            login_failure_window: Duration::from_secs(in_range(
                "login_failure_window_seconds",
                raw.login_failure_window_seconds,
                1,
                86_400,
            )?),
            mail_requests: in_range("password_reset_limit", raw.password_reset_limit, 0, 1_000)?,
            mail_request_window: Duration::from_secs(in_range(
                "password_reset_window_seconds",
                raw.password_reset_window_seconds,
                1,
                86_400,
            )?),
            mfa_failures: in_range("mfa_failure_limit", raw.mfa_failure_limit, 0, 1_000)?,
            mfa_failure_window: Duration::from_secs(in_range(
                "mfa_failure_window_seconds",
                raw.mfa_failure_window_seconds,
                1,
                86_400,
            )?),
        };
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies)
            .map_err(|reason| invalid("trusted_proxies", reason))?;
        let redis = match raw.redis_url.filter(|url| !url.trim().is_empty()) {
            None => None,
            Some(url) => {
                if !url.starts_with("redis://") {
                    return Err(invalid(
                        "redis_url",
                        "must start with redis:// (TLS to Redis, rediss://, is not built in; use a local TLS tunnel)",
                    ));
                }
                Some(RedisSettings {
                    url,
                    key_prefix: raw.redis_key_prefix,
                    timeout: Duration::from_millis(in_range(
                        "redis_timeout_ms",
                        raw.redis_timeout_ms,
                        10,
                        60_000,
                    )?),
                })
            }
        };
        let cors_origins = parse_origins(&raw.cors_origins)?;
        let public_api_url = parse_public_url(&raw.public_api_url)?;

        let mut pool = PoolSettings {
            acquire_timeout: Duration::from_secs(acquire),
            connect_timeout: Duration::from_secs(connect),
            ..PoolSettings::default()
        };
        if max_connections > 0 {
            pool.max_connections = max_connections;
        }
        Ok(Self {
            app_env: raw.app_env,
            host: raw.host,
            port: raw.port,
            database,
            pool,
            auto_migrate: raw.auto_migrate,
            auth: AuthConfig {
                jwt_secret,
                issuer: raw.jwt_issuer,
                audience: raw.jwt_audience,
                access_token_lifetime: chrono::Duration::minutes(exp_minutes),
                leeway: chrono::Duration::seconds(leeway),
                refresh_token_lifetime: chrono::Duration::days(refresh_days),
                refresh_reuse_grace: chrono::Duration::seconds(reuse_grace),
                hash_concurrency,
                hash_priority: raw.password_hash_priority,
                recovery,
                mail: mail.identity.clone(),
                mfa,
            },
            max_body_bytes,
            http_workers: in_range("http_workers", raw.http_workers, 0, 256)?,
            session_cleanup_interval: match in_range(
                "session_cleanup_interval_seconds",
                raw.session_cleanup_interval_seconds,
                0,
                86_400,
            )? {
                0 => None,
                seconds => Some(Duration::from_secs(seconds)),
            },
            rate_limits,
            trusted_proxies,
            redis,
            cors_origins,
            public_api_url,
            log_format: raw.log_format,
            shutdown_timeout_seconds: in_range(
                "shutdown_timeout_seconds",
                raw.shutdown_timeout_seconds,
                0,
                3_600,
            )?,
            mail,
            warnings,
        })
    }
}

/// Where the example app listens in development: the default of `PUBLIC_APP_URL` there.
const DEVELOPMENT_APP_URL: &str = "http://localhost:5173";
/// The default `MAIL_FROM` in development.
const DEVELOPMENT_MAIL_FROM: &str = "patient-auth <no-reply@localhost>";

/// The mail settings. Production needs `SMTP_URL`, `MAIL_FROM` and `PUBLIC_APP_URL`; elsewhere
/// mail goes to the outbox folder, from `no-reply@localhost`, with links to the example app.
fn check_mail(raw: &RawSettings) -> Result<MailSettings, SettingsError> {
    let production = raw.app_env == AppEnv::Production;
    let required = |key: &'static str, value: &str, fallback: &str| {
        let value = value.trim();
        match (value.is_empty(), production) {
            (false, _) => Ok(value.to_owned()),
            (true, true) => Err(invalid(
                key,
                "must be set in production (patients' mail depends on it)",
            )),
            (true, false) => Ok(fallback.to_owned()),
        }
    };
    let smtp_url = required("smtp_url", &raw.smtp_url, "")?;
    let from = required("mail_from", &raw.mail_from, DEVELOPMENT_MAIL_FROM)?;
    let from: lettre::message::Mailbox = from.parse().map_err(|_| {
        invalid(
            "mail_from",
            "must be an address such as `Clinic <no-reply@clinic.example>`",
        )
    })?;
    let app_url = required("public_app_url", &raw.public_app_url, DEVELOPMENT_APP_URL)?;
    let app_url = parse_absolute_url("public_app_url", &app_url)?
        .ok_or_else(|| invalid("public_app_url", "must not be empty"))?;
    let timeout = Duration::from_secs(in_range(
        "smtp_timeout_seconds",
        raw.smtp_timeout_seconds,
        1,
        300,
    )?);
    let transport = if smtp_url.is_empty() {
        let folder = raw.mail_outbox_dir.trim();
        if folder.is_empty() {
            return Err(invalid(
                "mail_outbox_dir",
                "must name a folder when SMTP_URL is not set",
            ));
        }
        MailTransport::Folder(folder.into())
    } else {
        let ca_file = raw.smtp_ca_file.trim();
        let extra_roots =
            if ca_file.is_empty() {
                None
            } else {
                Some(std::fs::read(ca_file).map_err(|e| {
                    invalid("smtp_ca_file", format!("cannot read `{ca_file}`: {e}"))
                })?)
            };
        MailTransport::smtp(&smtp_url, timeout, extra_roots.as_deref()).map_err(|e| {
            let key = if e.to_string().contains("SMTP_CA_FILE") {
                "smtp_ca_file"
            } else {
                "smtp_url"
            };
            invalid(key, e.to_string())
        })?
    };
    let retry_base = in_range(
        "mail_retry_base_seconds",
        raw.mail_retry_base_seconds,
        1,
        3_600,
    )?;
    let retry_max = in_range(
        "mail_retry_max_seconds",
        raw.mail_retry_max_seconds,
        retry_base,
        86_400,
    )?;
    let poll = in_range(
        "mail_poll_interval_seconds",
        raw.mail_poll_interval_seconds,
        1,
        3_600,
    )?;
    Ok(MailSettings {
        transport,
        identity: MailIdentity { from, app_url },
        delivery: DeliverySettings {
            retry_base: Duration::from_secs(retry_base),
            retry_max: Duration::from_secs(retry_max),
            poll_interval: Duration::from_secs(poll),
            // A whole SMTP session gets three timeouts; a claim outlasts it several times, so
            // no other instance takes a message while it is being sent.
            attempt_timeout: timeout * 3,
            lease: (timeout * 12).max(Duration::from_secs(120)),
        },
        ready_checks_mail: raw.ready_checks_mail,
    })
}

/// An absolute `http(s)` URL without query or fragment, trailing `/` dropped; empty is `None`.
fn parse_public_url(raw: &str) -> Result<Option<String>, SettingsError> {
    parse_absolute_url("public_api_url", raw)
}

/// `key`'s value as an absolute `http(s)` URL without query or fragment, trailing `/` dropped;
/// empty is `None`.
fn parse_absolute_url(key: &'static str, raw: &str) -> Result<Option<String>, SettingsError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let problem = |why: &str| invalid(key, format!("`{raw}` {why}"));
    let parsed = url::Url::parse(raw).map_err(|_| problem("is not an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(problem("must be an http or https URL with a host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(problem("must not have a query or fragment"));
    }
    Ok(Some(raw.trim_end_matches('/').to_owned()))
}

/// `CORS_ORIGINS`: comma-separated `scheme://host[:port]` origins, as browsers send them.
fn parse_origins(list: &str) -> Result<Vec<String>, SettingsError> {
    parse_origin_list("cors_origins", list)
}

/// A comma-separated list of `scheme://host[:port]` origins (`key` names the setting).
fn parse_origin_list(key: &'static str, list: &str) -> Result<Vec<String>, SettingsError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let problem = |why: &str| invalid(key, format!("`{entry}` {why}"));
            if entry == "*" {
                return Err(problem(
                    "would let every web site use the API; list the app origins instead",
                ));
            }
            let url = url::Url::parse(entry)
                .map_err(|_| problem("is not an origin such as https://app.example.com"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(problem("must be http:// or https:// with a host"));
            }
            if url.path() != "/"
                || url.query().is_some()
                || url.fragment().is_some()
                || !url.username().is_empty()
            {
                return Err(problem("must be an origin only: no path, query or user"));
            }
            Ok(url.origin().ascii_serialization())
        })
        .collect()
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, SettingsError> {
    if value < min || value > max {
        return Err(invalid(
            key,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(value)
}

/// `JWT_SECRET`, else `SECRET_KEY` (as the Flask backend did), else — in development only — a
/// random secret that dies with the process.
fn choose_jwt_secret(
    app_env: AppEnv,
    jwt_secret: Option<SecretString>,
    secret_key: Option<SecretString>,
    warnings: &mut Vec<String>,
) -> Result<SecretString, SettingsError> {
    let present = |s: Option<SecretString>| s.filter(|s| !s.expose_secret().is_empty());
    let (key, secret) = match (present(jwt_secret), present(secret_key)) {
        (Some(secret), _) => ("jwt_secret", secret),
        (None, Some(secret)) => {
            warnings.push("JWT_SECRET is not set: signing tokens with SECRET_KEY, as the Flask backend did. Set JWT_SECRET to keep the two apart.".into());
            ("secret_key", secret)
        }
        (None, None) if app_env == AppEnv::Production => {
            return Err(invalid("jwt_secret", "is required in production (set JWT_SECRET, e.g. to the output of `openssl rand -base64 48`)"));
        }
        (None, None) => {
            warnings.push("NEITHER JWT_SECRET NOR SECRET_KEY IS SET: using a random secret for this process only. Every token becomes invalid when the server restarts, and instances do not accept each other's tokens. Set JWT_SECRET.".into());
            return random_secret();
        }
    };
    if secret.expose_secret().len() < MIN_SECRET_BYTES {
        let message = format!("is shorter than {MIN_SECRET_BYTES} bytes, too weak for HS256 (generate one with `openssl rand -base64 48`)");
        if app_env == AppEnv::Production {
            return Err(invalid(key, message));
        }
        warnings.push(format!(
            "{}: {message}; production refuses it",
            key.to_ascii_uppercase()
        ));
    }
    Ok(secret)
}

/// `MFA_ENCRYPTION_KEY` (32 random bytes, base64 or hex), which seals TOTP secrets. Production
/// refuses to start without a good one; development derives one from the JWT secret (secrets set
/// up under it cannot be read once that changes).
fn check_mfa(raw: &RawSettings, jwt_secret: &SecretString) -> Result<MfaConfig, SettingsError> {
    let given = raw
        .mfa_encryption_key
        .as_ref()
        .filter(|key| !key.expose_secret().trim().is_empty());
    let key = match given {
        Some(key) => SecretBox::parse_key(key.expose_secret())
            .map_err(|e| invalid("mfa_encryption_key", e.to_string()))?,
        None if raw.app_env == AppEnv::Production => {
            return Err(invalid(
                "mfa_encryption_key",
                "is required in production (32 random bytes, e.g. `openssl rand -base64 32`)",
            ));
        }
        None => {
            // Development only: secrets sealed under it are lost with the JWT secret (a
            // random one dies with the process, as its warning says).
            use sha2::Digest;
            let mut derive = sha2::Sha256::new();
            derive.update(b"patient-auth development mfa key\0");
            derive.update(jwt_secret.expose_secret().as_bytes());
            derive.finalize().into()
        }
    };
    let issuer = raw.mfa_issuer.trim();
    if issuer.is_empty() || issuer.contains(':') {
        return Err(invalid("mfa_issuer", "must be a name without `:`"));
    }
    Ok(MfaConfig {
        secret_box: SecretBox::new(&key)
            .map_err(|e| invalid("mfa_encryption_key", e.to_string()))?,
        issuer: issuer.to_owned(),
        challenge_lifetime: chrono::Duration::minutes(5),
        relying_party: check_relying_party(raw, issuer)?,
        ceremony_lifetime: chrono::Duration::minutes(5),
    })
}

/// `WEBAUTHN_RP_ID` (the site passkeys belong to) and `WEBAUTHN_ORIGIN` (the pages that may use
/// them, comma-separated; each the RP id or a subdomain of it). Production wants `https://`.
fn check_relying_party(raw: &RawSettings, name: &str) -> Result<RelyingParty, SettingsError> {
    let id = raw.webauthn_rp_id.trim().to_ascii_lowercase();
    if id.is_empty() {
        return Err(invalid(
            "webauthn_rp_id",
            "must name a domain, e.g. example.com",
        ));
    }
    let origins = parse_origin_list("webauthn_origin", &raw.webauthn_origin)?
        .iter()
        .map(|origin| url::Url::parse(origin))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("webauthn_origin", e.to_string()))?;
    if origins.is_empty() {
        return Err(invalid("webauthn_origin", "must list the app's origin"));
    }
    if raw.app_env == AppEnv::Production {
        if let Some(plain) = origins
            .iter()
            .find(|o| o.scheme() != "https" && o.host_str() != Some("localhost"))
        {
            return Err(invalid(
                "webauthn_origin",
                format!("`{plain}`: passkeys need https:// in production"),
            ));
        }
    }
    RelyingParty::new(&id, name, &origins).map_err(|why| invalid("webauthn_origin", why))
}

fn random_secret() -> Result<SecretString, SettingsError> {
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).map_err(|e| {
        invalid(
            "jwt_secret",
            format!("cannot generate a random secret: {e}"),
        )
    })?;
    Ok(SecretString::from(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(&SettingsSources::only(env))
    }

    const STRONG: &str = "0123456789abcdef0123456789abcdef-strong";

    #[test]
    fn nothing_set_gives_a_working_development_server_on_sqlite() {
        let settings = load(&[]).expect("defaults work");
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 5000);
        assert_eq!(settings.database.engine(), "sqlite");
        assert!(settings.auto_migrate);
        assert_eq!(
            settings.auth.access_token_lifetime,
            chrono::Duration::minutes(60)
        );
        assert_eq!(settings.auth.leeway, chrono::Duration::seconds(30));
        assert_eq!(
            settings.auth.refresh_token_lifetime,
            chrono::Duration::days(14)
        );
        assert_eq!(settings.max_body_bytes, 16 * 1024);
        // The contract's default: 10 attempts a minute per client address.
        assert_eq!(settings.rate_limits.per_client_per_minute, 10);
        assert_eq!(settings.rate_limits.login_failures, 5);
        assert!(settings.redis.is_none());
        assert!(
            settings.cors_origins.is_empty(),
            "no CORS unless configured"
        );
        assert!(
            settings.trusted_proxies.is_empty(),
            "no proxy trusted unless configured"
        );
        assert_eq!(settings.log_format, LogFormat::Json);
        assert!(settings
            .warnings
            .iter()
            .any(|w| w.contains("random secret")));
    }

    #[test]
    fn the_flask_names_work_unchanged() {
        let settings = load(&[
            (
                "DATABASE_URL",
                "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            ),
            ("JWT_SECRET", STRONG),
            ("JWT_EXP_MINUTES", "15"),
            ("HOST", "0.0.0.0"),
            ("PORT", "8080"),
        ])
        .expect("valid");
        assert_eq!(settings.database.engine(), "postgres");
        assert_eq!(settings.auth.jwt_secret.expose_secret(), STRONG);
        assert_eq!(
            settings.auth.access_token_lifetime,
            chrono::Duration::minutes(15)
        );
        assert_eq!((settings.host.as_str(), settings.port), ("0.0.0.0", 8080));
        assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    }

    #[test]
    fn secret_key_stands_in_for_jwt_secret_with_a_warning() {
        let settings = load(&[("SECRET_KEY", STRONG)]).expect("valid");
        assert_eq!(settings.auth.jwt_secret.expose_secret(), STRONG);
        assert!(settings.warnings.iter().any(|w| w.contains("SECRET_KEY")));
    }

    #[test]
    fn a_numeric_looking_secret_is_kept_as_written() {
        let secret = "000123456789012345678901234567890123";
        let settings = load(&[("JWT_SECRET", secret)]).expect("valid");
        assert_eq!(settings.auth.jwt_secret.expose_secret(), secret);
    }

    #[test]
    fn production_refuses_to_start_without_a_strong_secret() {
        let err = load(&[("APP_ENV", "production")]).err().expect("refused");
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        let err = load(&[("APP_ENV", "production"), ("JWT_SECRET", "short")])
            .err()
            .expect("refused");
        assert!(err.to_string().contains("shorter than 32 bytes"), "{err}");
        assert!(
            !err.to_string().contains("short,"),
            "the secret itself is not echoed: {err}"
        );
        assert!(load(&[("APP_ENV", "production"), ("JWT_SECRET", STRONG)])
            .err()
            .is_some_and(|err| err.to_string().contains("SMTP_URL")));
        assert!(load(&production_with(&[])).is_ok());
    }

    /// A production environment with everything it needs, and `extra`.
    fn production_with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("APP_ENV", "production"),
            ("JWT_SECRET", STRONG),
            ("SMTP_URL", "smtp://mailer:pw@smtp.example.com"),
            ("MAIL_FROM", "Clinic <no-reply@clinic.example>"),
            ("PUBLIC_APP_URL", "https://app.clinic.example"),
            (
                "MFA_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ];
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn production_refuses_to_start_without_its_mail_settings_and_names_each() {
        for key in [
            "SMTP_URL",
            "MAIL_FROM",
            "PUBLIC_APP_URL",
            "MFA_ENCRYPTION_KEY",
        ] {
            let vars: Vec<_> = production_with(&[])
                .into_iter()
                .filter(|(k, _)| *k != key)
                .collect();
            let err = load(&vars).err().expect("refused");
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let err = load(&production_with(&[("MFA_ENCRYPTION_KEY", "too-short")]))
            .err()
            .expect("a weak key is refused");
        assert!(err.to_string().contains("MFA_ENCRYPTION_KEY"), "{err}");
        assert!(!err.to_string().contains("too-short"), "{err}");
        let err = load(&production_with(&[(
            "SMTP_URL",
            "smtp://u:hunter2@smtp.example.com:25?tls=off",
        )]))
        .err()
        .expect("a password in clear is refused");
        assert!(err.to_string().contains("SMTP_URL"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn passkeys_work_on_localhost_by_default_and_need_https_on_their_own_site_in_production() {
        let defaults = load(&[]).expect("defaults work");
        assert_eq!(defaults.auth.mfa.relying_party.id(), "localhost");
        let site = [
            ("WEBAUTHN_RP_ID", "clinic.example"),
            ("WEBAUTHN_ORIGIN", "https://app.clinic.example"),
        ];
        let settings = load(&production_with(&site)).expect("an https origin of the site");
        assert_eq!(settings.auth.mfa.relying_party.id(), "clinic.example");
        for (key, value) in [
            ("WEBAUTHN_ORIGIN", "http://app.clinic.example"),
            ("WEBAUTHN_ORIGIN", "https://app.other.example"),
            ("WEBAUTHN_ORIGIN", ""),
            ("WEBAUTHN_ORIGIN", "https://app.clinic.example/login"),
            ("WEBAUTHN_RP_ID", " "),
        ] {
            let mut vars = production_with(&site);
            vars.push((key, value));
            let err = load(&vars)
                .err()
                .unwrap_or_else(|| panic!("{key}={value} accepted"));
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn with_no_mail_settings_development_writes_to_the_outbox_folder() {
        let settings = load(&[]).expect("defaults work");
        assert_eq!(
            settings.mail.transport.describe(),
            "the outbox folder outbox"
        );
        assert_eq!(settings.mail.identity.app_url, "http://localhost:5173");
        assert_eq!(
            settings.mail.identity.from.email.to_string(),
            "no-reply@localhost"
        );
        assert!(!settings.mail.ready_checks_mail);
        assert_eq!(
            settings.auth.recovery.password_reset_lifetime,
            chrono::Duration::minutes(30)
        );
        assert_eq!(
            settings.auth.recovery.email_verification_lifetime,
            chrono::Duration::hours(48)
        );
        assert!(!settings.auth.recovery.require_verified_email);
        for (key, value) in [
            ("PUBLIC_APP_URL", "not a url"),
            ("PUBLIC_APP_URL", "https://app.example.com/?x=1"),
            ("MAIL_FROM", "nobody"),
            ("SMTP_URL", "http://mail.example.com"),
            ("PASSWORD_RESET_EXP_MINUTES", "0"),
            ("EMAIL_VERIFICATION_EXP_HOURS", "10000"),
        ] {
            let err = load(&[(key, value)])
                .err()
                .unwrap_or_else(|| panic!("{key}={value}"));
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value, named) in [
            ("PORT", "eighty", "port"),
            ("PORT", "70000", "port"),
            ("JWT_EXP_MINUTES", "0", "JWT_EXP_MINUTES"),
            ("JWT_EXP_MINUTES", "abc", "jwt_exp_minutes"),
            ("DATABASE_URL", "oracle://x/y", "DATABASE_URL"),
            ("APP_ENV", "staging", "app_env"),
            ("MAX_BODY_BYTES", "10", "MAX_BODY_BYTES"),
            ("AUTO_MIGRATE", "perhaps", "auto_migrate"),
        ] {
            let err = load(&[(key, value), ("JWT_SECRET", STRONG)])
                .err()
                .unwrap_or_else(|| panic!("{key}={value} accepted"));
            assert!(err.to_string().contains(named), "{key}={value}: {err}");
        }
    }

    #[test]
    fn sql_server_urls_are_accepted_as_settings() {
        for url in [
            "mssql://sa:pw@db:1433/patients",
            "Server=db;Database=patients;User Id=sa;Password=pw",
            "mssql+pyodbc://sa:pw@SERVER\\SQLEXPRESS/patients?driver=ODBC+Driver+17+for+SQL+Server",
        ] {
            assert_eq!(
                load(&[("DATABASE_URL", url)]).expect(url).database.engine(),
                "mssql"
            );
        }
        let err = load(&[(
            "DATABASE_URL",
            "mssql+pyodbc://SERVER/DB?trusted_connection=yes",
        )])
        .err()
        .expect("refused");
        assert!(err.to_string().contains("SQL Server login"), "{err}");
    }
}
