//! Where composed messages go: an SMTP server (`SMTP_URL`), or, with none configured, `.eml`
//! files in an outbox folder that a developer opens in a mail program.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::MailError;

/// How messages leave this service.
#[derive(Clone)]
pub enum MailTransport {
    /// An SMTP server.
    Smtp {
        /// The connection (a new one per message: nothing to go stale while the server is away).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `smtp://host:port (STARTTLS)`, for logs: never the credentials.
        description: String,
    },
    /// `.eml` files in this folder.
    Folder(PathBuf),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Where a delivered message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Accepted by the SMTP server.
    Relayed,
    /// Written to this file.
    File(PathBuf),
}

/// How a connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS, required (the connection fails rather than go on in clear).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
    /// `smtp://…?tls=off`: none, for a relay on this machine or network.
    None,
}

impl MailTransport {
    /// The transport `SMTP_URL` names: `smtp://user:pass@host:587` (STARTTLS),
    /// `smtps://user:pass@host:465` (implicit TLS), `smtp://host:25?tls=off` (a local relay).
    /// TLS trusts the system's roots, and `extra_roots` (PEM, `SMTP_CA_FILE`) beside them.
    pub fn smtp(
        url: &str,
        timeout: Duration,
        extra_roots: Option<&[u8]>,
    ) -> Result<Self, MailError> {
        let invalid = |why: &str| MailError::SmtpUrl(why.to_owned());
        let parsed = url::Url::parse(url).map_err(|_| invalid("is not a URL"))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut tls_setting = None;
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "tls" => tls_setting = Some(value.into_owned()),
                other => return Err(invalid(&format!("has an unknown parameter `{other}`"))),
            }
        }
        let security = match (parsed.scheme(), tls_setting.as_deref()) {
            ("smtp", None | Some("required" | "starttls")) => SmtpSecurity::StartTls,
            ("smtp", Some("off")) => SmtpSecurity::None,
            ("smtps", None | Some("wrapper" | "implicit")) => SmtpSecurity::ImplicitTls,
            ("smtp" | "smtps", Some(other)) => {
                return Err(invalid(&format!(
                    "has tls={other}; use smtp:// (STARTTLS), smtps:// (TLS) or smtp://…?tls=off"
                )))
            }
            (scheme, _) => {
                return Err(invalid(&format!(
                    "has the scheme `{scheme}`; use smtp:// or smtps://"
                )))
            }
        };
        let port = parsed.port().unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::None => 25,
        });
        let user = percent_decode(parsed.username());
        let password = parsed.password().map(percent_decode);
        let on_this_machine = host == "localhost"
            || host
                .parse::<IpAddr>()
                .is_ok_and(|address| address.is_loopback());
        if security == SmtpSecurity::None && !user.is_empty() && !on_this_machine {
            return Err(invalid(
                "sends a password without TLS to another machine; use smtp:// (STARTTLS) or smtps://",
            ));
        }

        let extra_roots = extra_roots
            .map(Certificate::from_pem)
            .transpose()
            .map_err(|_| MailError::SmtpUrl("SMTP_CA_FILE holds no PEM certificate".to_owned()))?;
        let tls_parameters = || {
            let mut parameters = TlsParameters::builder(host.clone());
            if let Some(roots) = extra_roots.clone() {
                parameters = parameters.add_root_certificate(roots);
            }
            parameters
                .build()
                .map_err(|e| MailError::SmtpUrl(format!("TLS set-up failed: {e}")))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(timeout));
        builder = match security {
            SmtpSecurity::StartTls => builder.tls(Tls::Required(tls_parameters()?)),
            SmtpSecurity::ImplicitTls => builder.tls(Tls::Wrapper(tls_parameters()?)),
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if !user.is_empty() {
            builder = builder.credentials(Credentials::new(user, password.unwrap_or_default()));
        }
        let description = format!(
            "{}://{host}:{port} ({})",
            parsed.scheme(),
            match security {
                SmtpSecurity::StartTls => "STARTTLS",
                SmtpSecurity::ImplicitTls => "TLS",
                SmtpSecurity::None => "no TLS",
            }
        );
        Ok(Self::Smtp {
            transport: builder.build(),
            description,
        })
    }

    /// For logs and `/ready`: the server or folder, never a credential.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { description, .. } => description.clone(),
            Self::Folder(folder) => format!("the outbox folder {}", folder.display()),
        }
    }

    /// Hands one message over: to the SMTP server, or to a new file in the folder.
    pub async fn deliver(
        &self,
        from: &Address,
        to: &str,
        message: &str,
        file_stem: &str,
    ) -> Result<Delivered, MailError> {
        let to: Address = to
            .parse()
            .map_err(|_| MailError::Recipient(to.to_owned()))?;
        match self {
            Self::Smtp { transport, .. } => {
                let envelope = Envelope::new(Some(from.clone()), vec![to])
                    .map_err(|e| MailError::Compose(e.to_string()))?;
                transport
                    .send_raw(&envelope, message.as_bytes())
                    .await
                    .map_err(|e| MailError::Delivery(e.to_string()))?;
                Ok(Delivered::Relayed)
            }
            Self::Folder(folder) => {
                let path = folder.join(format!("{file_stem}.eml"));
                let (folder, target, bytes) = (folder.clone(), path.clone(), message.to_owned());
                tokio::task::spawn_blocking(move || write_private_file(&folder, &target, &bytes))
                    .await
                    .map_err(|e| MailError::Delivery(e.to_string()))?
                    .map_err(|e| MailError::Delivery(format!("{}: {e}", path.display())))?;
                Ok(Delivered::File(path))
            }
        }
    }

    /// Whether messages can leave now: the SMTP server greets us, or the folder is writable.
    pub async fn check(&self) -> Result<(), MailError> {
        match self {
            Self::Smtp { transport, .. } => match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(MailError::Delivery("the SMTP server did not answer".into())),
                Err(e) => Err(MailError::Delivery(e.to_string())),
            },
            Self::Folder(folder) => {
                let folder = folder.clone();
                tokio::task::spawn_blocking(move || create_private_folder(&folder))
                    .await
                    .map_err(|e| MailError::Delivery(e.to_string()))?
                    .map_err(|e| MailError::Delivery(e.to_string()))
            }
        }
    }
}

/// `%40` → `@` and so on, as URLs carry user names and passwords.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The outbox folder, readable by this account only (messages carry sign-in links).
fn create_private_folder(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes the whole file under a temporary name, then renames it: a reader never sees half.
fn write_private_file(
    folder: &std::path::Path,
    target: &std::path::Path,
    contents: &str,
) -> std::io::Result<()> {
    use std::io::Write;
    create_private_folder(folder)?;
    let partial = target.with_extension("eml.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&partial)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(url: &str) -> Result<String, String> {
        MailTransport::smtp(url, Duration::from_secs(5), None)
            .map(|t| t.describe())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_url_names_the_protection_and_the_default_port() {
        assert_eq!(
            describe("smtp://user:pass@mail.example.com").as_deref(),
            Ok("smtp://mail.example.com:587 (STARTTLS)")
        );
        assert_eq!(
            describe("smtps://user:p%40ss@mail.example.com").as_deref(),
            Ok("smtps://mail.example.com:465 (TLS)")
        );
        assert_eq!(
            describe("smtp://relay.internal:25?tls=off").as_deref(),
            Ok("smtp://relay.internal:25 (no TLS)")
        );
        assert_eq!(
            describe("smtp://127.0.0.1:2525?tls=off").as_deref(),
            Ok("smtp://127.0.0.1:2525 (no TLS)")
        );
    }

    #[test]
    fn unsafe_or_unknown_forms_are_refused() {
        for url in [
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com?tls=opportunistic",
            "smtp://mail.example.com?verify=no",
            "smtp://user:secret@mail.example.com:25?tls=off",
            "not a url",
        ] {
            let error = describe(url).expect_err(url);
            assert!(!error.contains("secret"), "{error}");
        }
        assert!(describe("smtp://user:pw@localhost:25?tls=off").is_ok());
    }

    #[test]
    fn credentials_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aw0rd"), "p@ss:w0rd");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[tokio::test]
    async fn a_folder_delivery_writes_a_private_file() {
        let dir = tempfile::tempdir().expect("dir");
        let folder = dir.path().join("outbox");
        let transport = MailTransport::Folder(folder.clone());
        transport.check().await.expect("writable");
        let from: Address = "no-reply@example.com".parse().expect("address");
        let delivered = transport
            .deliver(&from, "ahmed@example.com", "Subject: hi\r\n\r\nbody", "m-1")
            .await
            .expect("written");
        let Delivered::File(path) = delivered else {
            panic!("a file")
        };
        assert_eq!(path, folder.join("m-1.eml"));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "Subject: hi\r\n\r\nbody"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the service account reads it");
        }
    }
}
