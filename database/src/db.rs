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
                let txn = connection
                    .begin_with_config(isolation_level, access_mode)
                    .await?;
                if connection.get_database_backend() == DbBackend::Sqlite {
                    take_sqlite_write_lock(&txn).await?;
                }
                Ok(txn)
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
            Self::Native(_) => {
                let txn = self
                    .begin_with_config(isolation_level, access_mode)
                    .await
                    .map_err(TransactionError::Connection)?;
                match callback(&txn).await {
                    Ok(value) => {
                        txn.commit().await.map_err(TransactionError::Connection)?;
                        Ok(value)
                    }
                    Err(error) => {
                        txn.rollback().await.map_err(TransactionError::Connection)?;
                        Err(TransactionError::Transaction(error))
                    }
                }
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

/// SQLite's `BEGIN` takes no lock until the first statement, and a transaction that read first
/// cannot take the write lock once another connection has committed: SQLite refuses at once
/// (`SQLITE_BUSY_SNAPSHOT`) instead of waiting out the busy timeout. SeaORM cannot send
/// `BEGIN IMMEDIATE`, so a write that changes nothing takes the lock as the first statement,
/// where the busy timeout applies; every transaction of the service writes anyway. Before the
/// migrations have made `seaql_migrations` there is nothing to lock against.
async fn take_sqlite_write_lock(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    match txn
        .execute_unprepared("UPDATE seaql_migrations SET version = version WHERE 0 = 1")
        .await
    {
        Err(error) if error.to_string().contains("no such table") => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{connect, DatabaseUrl, PoolSettings};

    /// A transaction that reads, then writes after another connection committed, must wait its
    /// turn (the busy timeout), not fail at once as SQLite's plain `BEGIN` makes it.
    #[tokio::test]
    async fn sqlite_transactions_that_read_first_wait_for_each_other_instead_of_failing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("locks.db");
        let url = DatabaseUrl::parse(&format!(
            "sqlite:////{}",
            file.display().to_string().trim_start_matches('/')
        ))
        .expect("url");
        let db = connect(&url, &PoolSettings::default())
            .await
            .expect("connect");
        for sql in [
            "CREATE TABLE seaql_migrations (version TEXT PRIMARY KEY)",
            "CREATE TABLE visits (n INTEGER)",
        ] {
            db.execute_unprepared(sql).await.expect("schema");
        }
        let first = db.begin().await.expect("begin");
        first
            .execute_unprepared("SELECT COUNT(*) FROM visits")
            .await
            .expect("read");
        let other = db.clone();
        let second = tokio::spawn(async move {
            let txn = other.begin().await?;
            txn.execute_unprepared("SELECT COUNT(*) FROM visits")
                .await?;
            txn.execute_unprepared("INSERT INTO visits VALUES (2)")
                .await?;
            txn.commit().await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        first
            .execute_unprepared("INSERT INTO visits VALUES (1)")
            .await
            .expect("the first transaction writes after its read");
        first.commit().await.expect("commit");
        second
            .await
            .expect("task")
            .expect("the second transaction waited for the first");
    }
}
