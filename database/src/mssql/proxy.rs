//! SeaORM proxy connections onto the pool. SeaORM's proxy gives `begin`/`commit` no transaction
//! identity, so two kinds exist: the shared proxy runs each statement on any pooled connection
//! and never begins a transaction; a pinned proxy holds one connection for one transaction's
//! whole life ([`crate::Db`] makes one per `begin`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bb8::{Pool, PooledConnection, RunError};
use sea_orm::{
    ConnAcquireErr, DbErr, ProxyDatabaseTrait, ProxyExecResult, ProxyRow, RuntimeErr, Statement,
};
use tokio::sync::Mutex;

use super::pool::{MssqlConnection, TiberiusManager};
use super::translate::translate;
use super::values::{bind_all, to_param, to_proxy_row, Param};

/// A statement ready for tiberius.
#[derive(Debug)]
pub struct Prepared {
    /// The T-SQL text (placeholders only, never values).
    pub tsql: String,
    /// The non-NULL parameters, in `@P1…` order.
    pub params: Vec<Param>,
    /// Whether it is a write with an `OUTPUT` clause (see [`super::translate::Translation`]).
    pub outputs_rows: bool,
}

/// Translates a SeaORM statement and collects its non-NULL parameters.
pub fn prepare(statement: &Statement) -> Result<Prepared, DbErr> {
    let values = statement
        .values
        .as_ref()
        .map(|values| values.0.as_slice())
        .unwrap_or_default();
    let params = values.iter().map(to_param).collect::<Result<Vec<_>, _>>()?;
    let nulls: Vec<bool> = params.iter().map(Option::is_none).collect();
    // The statement text holds placeholders, never values, so it may be logged.
    let translation = translate(&statement.sql, &nulls).map_err(|error| {
        log::error!(
            "SQL Server bridge refused a statement ({error}): {}",
            statement.sql
        );
        DbErr::Custom(format!("SQL Server bridge: {error}"))
    })?;
    Ok(Prepared {
        tsql: translation.tsql,
        params: params.into_iter().flatten().collect(),
        outputs_rows: translation.outputs_rows,
    })
}

/// Server errors keep their number (2627/2601 are unique violations); anything else means the
/// connection is gone, which the service reports as "unavailable".
fn db_error(
    error: tiberius::error::Error,
    connection: &mut MssqlConnection,
    is_query: bool,
) -> DbErr {
    match &error {
        tiberius::error::Error::Server(token) => {
            let message = format!("SQL Server error {}: {}", token.code(), token.message());
            if is_query {
                DbErr::Query(RuntimeErr::Internal(message))
            } else {
                DbErr::Exec(RuntimeErr::Internal(message))
            }
        }
        _ => {
            connection.broken = true;
            DbErr::Conn(RuntimeErr::Internal(format!(
                "SQL Server connection: {error}"
            )))
        }
    }
}

type TdsClient = tiberius::Client<tokio_util::compat::Compat<tokio::net::TcpStream>>;

async fn fetch_rows(
    client: &mut TdsClient,
    query: tiberius::Query<'_>,
) -> Result<Vec<tiberius::Row>, tiberius::error::Error> {
    query.query(client).await?.into_first_result().await
}

async fn simple(client: &mut TdsClient, sql: &str) -> Result<(), tiberius::error::Error> {
    client
        .simple_query(sql)
        .await?
        .into_results()
        .await
        .map(drop)
}

async fn run_query(
    connection: &mut MssqlConnection,
    statement: Statement,
) -> Result<Vec<ProxyRow>, DbErr> {
    let prepared = prepare(&statement)?;
    let mut query = tiberius::Query::new(prepared.tsql);
    bind_all(&mut query, prepared.params);
    match fetch_rows(&mut connection.client, query).await {
        Ok(rows) => rows.into_iter().map(to_proxy_row).collect(),
        Err(error) => Err(db_error(error, connection, true)),
    }
}

async fn run_execute(
    connection: &mut MssqlConnection,
    statement: Statement,
) -> Result<ProxyExecResult, DbErr> {
    let prepared = prepare(&statement)?;
    let outputs_rows = prepared.outputs_rows;
    let mut query = tiberius::Query::new(prepared.tsql);
    bind_all(&mut query, prepared.params);
    if outputs_rows {
        // The OUTPUT rows are the affected rows; the DONE token's count is not reliable for
        // such a statement (zero on Babelfish), the rows are.
        return match fetch_rows(&mut connection.client, query).await {
            Ok(rows) => Ok(ProxyExecResult {
                last_insert_id: 0,
                rows_affected: u64::try_from(rows.len()).unwrap_or(u64::MAX),
            }),
            Err(error) => Err(db_error(error, connection, false)),
        };
    }
    match query.execute(&mut connection.client).await {
        Ok(result) => Ok(ProxyExecResult {
            last_insert_id: 0,
            rows_affected: result.total(),
        }),
        Err(error) => Err(db_error(error, connection, false)),
    }
}

fn acquire_error(error: RunError<tiberius::error::Error>) -> DbErr {
    match error {
        RunError::TimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        RunError::User(error) => DbErr::Conn(RuntimeErr::Internal(format!(
            "SQL Server connection: {error}"
        ))),
    }
}

/// Statements outside transactions: each on whichever pooled connection is free.
#[derive(Debug)]
pub struct SharedProxy {
    pool: Pool<TiberiusManager>,
}

impl SharedProxy {
    /// A proxy over `pool`.
    pub fn new(pool: Pool<TiberiusManager>) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl ProxyDatabaseTrait for SharedProxy {
    async fn query(&self, statement: Statement) -> Result<Vec<ProxyRow>, DbErr> {
        let mut connection = self.pool.get().await.map_err(acquire_error)?;
        run_query(&mut connection, statement).await
    }

    async fn execute(&self, statement: Statement) -> Result<ProxyExecResult, DbErr> {
        let mut connection = self.pool.get().await.map_err(acquire_error)?;
        run_execute(&mut connection, statement).await
    }

    async fn begin(&self) {
        log::error!(
            "SQL Server bridge: a transaction was begun on the shared connection; use Db::begin"
        );
    }

    async fn ping(&self) -> Result<(), DbErr> {
        let mut connection = self.pool.get().await.map_err(acquire_error)?;
        let outcome = simple(&mut connection.client, "SELECT 1").await;
        outcome.map_err(|error| db_error(error, &mut connection, true))
    }
}

/// One connection, held for one transaction.
#[derive(Debug)]
pub struct PinnedProxy {
    connection: Arc<Mutex<PooledConnection<'static, TiberiusManager>>>,
    open: AtomicBool,
}

impl std::fmt::Debug for MssqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MssqlConnection")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl PinnedProxy {
    /// Checks a connection out of `pool` for one transaction.
    pub async fn checkout(pool: &Pool<TiberiusManager>) -> Result<Self, DbErr> {
        let connection = pool.get_owned().await.map_err(acquire_error)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            open: AtomicBool::new(false),
        })
    }

    async fn control(&self, sql: &str) {
        let mut connection = self.connection.lock().await;
        let outcome = simple(&mut connection.client, sql).await;
        if let Err(error) = outcome {
            // SeaORM's proxy cannot report this; the connection is retired so nothing of the
            // transaction can linger, and the failure is logged loudly.
            connection.broken = true;
            log::error!(
                "SQL Server bridge: `{sql}` failed, the transaction's outcome is unknown: {error}"
            );
        }
    }
}

#[async_trait::async_trait]
impl ProxyDatabaseTrait for PinnedProxy {
    async fn query(&self, statement: Statement) -> Result<Vec<ProxyRow>, DbErr> {
        let mut guard = self.connection.lock().await;
        run_query(&mut guard, statement).await
    }

    async fn execute(&self, statement: Statement) -> Result<ProxyExecResult, DbErr> {
        let mut guard = self.connection.lock().await;
        run_execute(&mut guard, statement).await
    }

    async fn begin(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.control("BEGIN TRANSACTION").await;
    }

    async fn commit(&self) {
        self.control("COMMIT TRANSACTION").await;
        self.open.store(false, Ordering::SeqCst);
    }

    async fn rollback(&self) {
        self.control("IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION")
            .await;
        self.open.store(false, Ordering::SeqCst);
    }

    fn start_rollback(&self) {
        // Called from a synchronous drop: the transaction was abandoned. The connection is
        // retired rather than reused, and closing it makes the server roll the work back.
        if self.open.swap(false, Ordering::SeqCst) {
            if let Ok(mut connection) = self.connection.try_lock() {
                connection.broken = true;
            } else {
                let connection = Arc::clone(&self.connection);
                tokio::spawn(async move { connection.lock().await.broken = true });
            }
        }
    }
}
