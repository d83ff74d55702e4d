//! [`Db`]: the handle the service runs on, whatever the engine. For SQLite, PostgreSQL and MySQL
//! it is SeaORM's own connection; for SQL Server it is the bridge, where each `begin` pins a
//! fresh proxy to one pooled connection so that a transaction's statements never mix with
//! anyone else's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bb8::Pool;
use sea_orm::{
    AccessMode, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, IsolationLevel, ProxyDatabaseTrait, QueryResult, Statement,
    TransactionError, TransactionTrait,
};

use crate::mssql::pool::TiberiusManager;
use crate::mssql::proxy::{PinnedProxy, SharedProxy};

/// A database handle: a pool, cheap to clone.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite, PostgreSQL or MySQL through SeaORM's drivers.
    Native(DatabaseConnection),
    /// SQL Server through the bridge.
    SqlServer(SqlServerDb),
}

/// The SQL Server side of [`Db`].
#[derive(Debug, Clone)]
pub struct SqlServerDb {
    shared: DatabaseConnection,
    pool: Pool<TiberiusManager>,
}

impl SqlServerDb {
    /// Wraps a pool: statements outside transactions go through one shared proxy.
    pub async fn new(pool: Pool<TiberiusManager>) -> Result<Self, DbErr> {
        let shared = connect_proxy(SharedProxy::new(pool.clone())).await?;
        Ok(Self { shared, pool })
    }

    /// A SeaORM connection pinned to one pooled SQL Server connection, for one transaction or
    /// for a migration run.
    pub async fn pinned(&self) -> Result<DatabaseConnection, DbErr> {
        connect_proxy(PinnedProxy::checkout(&self.pool).await?).await
    }
}

async fn connect_proxy(
    proxy: impl ProxyDatabaseTrait + 'static,
) -> Result<DatabaseConnection, DbErr> {
    // SeaORM writes its statements in PostgreSQL's dialect for the bridge to translate.
    Database::connect_proxy(DbBackend::Postgres, Arc::new(Box::new(proxy))).await
}

impl Db {
    /// Whether this is the SQL Server bridge.
    pub fn is_sql_server(&self) -> bool {
        matches!(self, Self::SqlServer(_))
    }

    /// The connection to use for statements outside a transaction.
    fn statements(&self) -> &DatabaseConnection {
        match self {
            Self::Native(connection) => connection,
            Self::SqlServer(bridge) => &bridge.shared,
        }
    }

    /// A connection on which migrations may open transactions: the pool itself natively, one
    /// pinned connection on SQL Server.
    pub async fn for_migrations(&self) -> Result<DatabaseConnection, DbErr> {
        match self {
            Self::Native(connection) => Ok(connection.clone()),
            Self::SqlServer(bridge) => bridge.pinned().await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.statements().ping().await
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        match self {
            Self::Native(connection) => connection.close().await,
            Self::SqlServer(bridge) => bridge.shared.close().await,
        }
    }
}

impl From<DatabaseConnection> for Db {
    fn from(connection: DatabaseConnection) -> Self {
        Self::Native(connection)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.statements().get_database_backend()
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.statements().execute(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.statements().execute_unprepared(sql).await
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.statements().query_one(stmt).await
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.statements().query_all(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.statements().support_returning()
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Db {
    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.begin_with_config(None, None).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Self::Native(connection) => {
                connection
                    .begin_with_config(isolation_level, access_mode)
                    .await
            }
            Self::SqlServer(bridge) => {
                bridge
                    .pinned()
                    .await?
                    .begin_with_config(isolation_level, access_mode)
                    .await
            }
        }
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.transaction_with_config(callback, None, None).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Self::Native(connection) => {
                connection
                    .transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
            Self::SqlServer(bridge) => {
                let pinned = bridge
                    .pinned()
                    .await
                    .map_err(TransactionError::Connection)?;
                pinned
                    .transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
        }
    }
}
