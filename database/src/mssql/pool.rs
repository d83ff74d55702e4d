//! A bb8 pool of tiberius 0.13 clients (the published adapters pin tiberius 0.12).

use std::time::Duration;

use tiberius::{AuthMethod, Client, Config, EncryptionLevel, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use crate::mssql_url::{MssqlEncryption, MssqlTarget};

/// A pooled SQL Server connection; `broken` retires it instead of returning it to the pool.
pub struct MssqlConnection {
    /// The tiberius client.
    pub client: Client<Compat<TcpStream>>,
    /// Set after a connection-level error or an unfinished transaction.
    pub broken: bool,
}

/// Opens tiberius connections for bb8.
#[derive(Clone)]
pub struct TiberiusManager {
    config: Config,
    connect_timeout: Duration,
}

impl std::fmt::Debug for TiberiusManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiberiusManager")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds tiberius's configuration from a parsed URL. With no `Encrypt` option the connection
/// is encrypted: this is patient data.
pub fn tiberius_config(target: &MssqlTarget) -> Config {
    let mut config = Config::new();
    config.host(&target.host);
    if let Some(port) = target.port {
        config.port(port);
    }
    if let Some(instance) = &target.instance {
        config.instance_name(instance);
    }
    if let Some(database) = &target.database {
        config.database(database);
    }
    config.application_name("patient-auth");
    config.authentication(AuthMethod::sql_server(&target.user, target.password()));
    config.encryption(match target.encryption {
        MssqlEncryption::Default | MssqlEncryption::Required => EncryptionLevel::Required,
        MssqlEncryption::Off => EncryptionLevel::NotSupported,
    });
    if target.trust_server_certificate {
        config.trust_cert();
    }
    config
}

impl TiberiusManager {
    /// A manager for `target`, giving up on a connection (TCP and TLS) after `connect_timeout`.
    pub fn new(target: &MssqlTarget, connect_timeout: Duration) -> Self {
        Self {
            config: tiberius_config(target),
            connect_timeout,
        }
    }
}

impl bb8::ManageConnection for TiberiusManager {
    type Connection = MssqlConnection;
    type Error = tiberius::error::Error;

    async fn connect(&self) -> Result<MssqlConnection, tiberius::error::Error> {
        let config = self.config.clone();
        let attempt = async move {
            let tcp = TcpStream::connect_named(&config).await?;
            tcp.set_nodelay(true)?;
            Client::connect(config, tcp.compat_write()).await
        };
        let client = tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| tiberius::error::Error::Io {
                kind: std::io::ErrorKind::TimedOut,
                message: "connecting to SQL Server timed out (is Encrypt right for this server?)"
                    .into(),
            })??;
        Ok(MssqlConnection {
            client,
            broken: false,
        })
    }

    async fn is_valid(
        &self,
        connection: &mut MssqlConnection,
    ) -> Result<(), tiberius::error::Error> {
        connection
            .client
            .simple_query("SELECT 1")
            .await?
            .into_results()
            .await
            .map(drop)
    }

    fn has_broken(&self, connection: &mut MssqlConnection) -> bool {
        connection.broken
    }
}
