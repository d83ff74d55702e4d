//! A real SMTP server for the suites: `support/smtp_sink.py` (aiosmtpd) in a virtualenv this
//! harness makes once (`$HOME/.cache/patient-auth/smtp-venv`, or `SMTP_SINK_PYTHON`), started
//! per test on its own port, writing each accepted message to its own folder.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The aiosmtpd release the sink is written against.
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// A running (or stopped) SMTP server and the folder it delivers to.
pub struct SmtpSink {
    port: u16,
    folder: tempfile::TempDir,
    python: PathBuf,
    child: Option<Child>,
    tls: Option<Tls>,
}

/// How a TLS sink protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS, required before mail is accepted.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// A TLS sink's mode and its certificates: a CA of the test's own and a leaf for `localhost`.
struct Tls {
    mode: TlsMode,
    files: tempfile::TempDir,
}

impl Tls {
    /// A CA and a `localhost`/`127.0.0.1` certificate it signed, made with the openssl CLI.
    fn new(mode: TlsMode) -> Self {
        let files = tempfile::tempdir().expect("certificate folder");
        let dir = files.path();
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("extensions");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for args in [
            [
                &["req", "-x509"][..],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=patient-auth test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign",
                ][..],
            ]
            .concat(),
            [
                &["req"][..],
                &ec[..],
                &[
                    "-keyout",
                    "leaf.key",
                    "-out",
                    "leaf.csr",
                    "-subj",
                    "/CN=localhost",
                ][..],
            ]
            .concat(),
            vec![
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
            ],
        ] {
            let output = std::process::Command::new("openssl")
                .args(&args)
                .current_dir(dir)
                .output()
                .expect("openssl runs");
            assert!(
                output.status.success(),
                "openssl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Self { mode, files }
    }
}

/// The Python with aiosmtpd, made once per test process; `Err` says why there is none.
fn python() -> &'static Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(python) = std::env::var("SMTP_SINK_PYTHON") {
            return Ok(PathBuf::from(python));
        }
        let home = std::env::var("HOME").map_err(|_| "HOME is not set".to_owned())?;
        let venv = Path::new(&home).join(".cache/patient-auth/smtp-venv");
        let python = venv.join("bin/python");
        let has_aiosmtpd = |python: &Path| {
            std::process::Command::new(python)
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if has_aiosmtpd(&python) {
            return Ok(python);
        }
        let run = |program: &Path, args: &[&str]| -> Result<(), String> {
            let output = std::process::Command::new(program)
                .args(args)
                .output()
                .map_err(|e| format!("{}: {e}", program.display()))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{} {}: {}",
                    program.display(),
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        };
        let venv_text = venv.display().to_string();
        run(Path::new("python3"), &["-m", "venv", &venv_text])?;
        run(&python, &["-m", "pip", "install", "--quiet", AIOSMTPD])?;
        if has_aiosmtpd(&python) {
            Ok(python)
        } else {
            Err("aiosmtpd did not install".to_owned())
        }
    })
}

impl SmtpSink {
    /// A running SMTP server, or `None` (with a printed reason) when none can be made outside
    /// CI. In CI (`CI=true`) that fails the test.
    pub async fn start() -> Option<Self> {
        let python = match tokio::task::spawn_blocking(|| python().clone())
            .await
            .expect("venv task")
        {
            Ok(python) => python,
            Err(reason) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("no SMTP server for the mail tests: {reason}");
                }
                eprintln!("SKIPPED: no SMTP server for the mail tests: {reason}");
                return None;
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut sink = Self {
            port,
            folder: tempfile::tempdir().expect("mail folder"),
            python,
            child: None,
            tls: None,
        };
        sink.resume().await;
        Some(sink)
    }

    /// A server that speaks TLS (`mode`) with a certificate for `localhost` from a CA of its own
    /// ([`Self::ca_file`]); `None` as for [`Self::start`].
    pub async fn start_tls(mode: TlsMode) -> Option<Self> {
        let mut sink = Self::start().await?;
        sink.stop().await;
        sink.tls = Some(Tls::new(mode));
        sink.resume().await;
        Some(sink)
    }

    /// `SMTP_URL` for the service: in clear (`?tls=off`, it is on loopback) for a plain server;
    /// `smtp://localhost` (STARTTLS required) or `smtps://localhost` for a TLS one.
    pub fn url(&self) -> String {
        match self.tls.as_ref().map(|tls| tls.mode) {
            None => format!("smtp://127.0.0.1:{}?tls=off", self.port),
            Some(TlsMode::StartTls) => format!("smtp://localhost:{}", self.port),
            Some(TlsMode::Implicit) => format!("smtps://localhost:{}", self.port),
        }
    }

    /// The CA a TLS server's certificate chains to (for `SMTP_CA_FILE`).
    pub fn ca_file(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|tls| tls.files.path().join("ca.pem").display().to_string())
    }

    /// Stops the server: connections are refused until [`Self::resume`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port and folder.
    pub async fn resume(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut command = Command::new(&self.python);
        command
            .arg(script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--folder")
            .arg(self.folder.path());
        if let Some(tls) = &self.tls {
            let mode = match tls.mode {
                TlsMode::StartTls => "starttls",
                TlsMode::Implicit => "implicit",
            };
            command
                .args(["--tls", mode, "--cert"])
                .arg(tls.files.path().join("leaf.pem"))
                .arg("--key")
                .arg(tls.files.path().join("leaf.key"));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP sink is ready within 20 s")
            .expect("its output");
        assert_eq!(
            ready.as_deref(),
            Some("READY"),
            "the SMTP sink did not start"
        );
        self.child = Some(child);
    }

    /// Every message delivered so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder.path())
            .expect("mail folder")
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("a message"))
            .collect()
    }

    /// Waits until `count` messages matching `filter` have arrived (up to `within`); returns
    /// them all.
    pub async fn wait_for(
        &self,
        count: usize,
        within: Duration,
        filter: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let matching: Vec<String> = self.messages().into_iter().filter(|m| filter(m)).collect();
            if matching.len() >= count || Instant::now() > deadline {
                return matching;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The one message to `to` about `subject` (waiting up to 10 s for it).
    pub async fn message_to(&self, to: &str, subject: &str) -> String {
        let found = self
            .wait_for(1, Duration::from_secs(10), |m| {
                is_to(m, to) && has_subject(m, subject)
            })
            .await;
        assert_eq!(
            found.len(),
            1,
            "one message to {to} about {subject:?}; all: {:#?}",
            self.messages()
        );
        found.into_iter().next().expect("one")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// Whether the message's `To` names `address`.
pub fn is_to(message: &str, address: &str) -> bool {
    header(message, "To").is_some_and(|to| to.contains(&format!("<{address}>")))
}

/// Whether the message's `Subject` is `subject` (plain ASCII subjects only).
pub fn has_subject(message: &str, subject: &str) -> bool {
    header(message, "Subject").is_some_and(|s| s == subject)
}

/// A header's (unfolded) value.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next()?;
    head.split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

/// The token of the first `…/<page>#token=…` link in the message.
pub fn link_token(message: &str, page: &str) -> String {
    let marker = format!("/{page}#token=");
    let start = message
        .find(&marker)
        .unwrap_or_else(|| panic!("a {page} link in {message}"))
        + marker.len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
