//! Group commit for the audit events of reads: many requests' events in one multi-row `INSERT`.
//!
//! A profile read has no transaction of its own to put its event in, and one `INSERT` per read
//! made the database's commit (a WAL flush on PostgreSQL) the cost of `GET /auth/me`. Here, each
//! read hands its event to one writer task and waits for the commit of the batch holding it, so
//! no profile is answered before its read is recorded, while concurrent reads share a commit.
//! Batches form by themselves: whatever arrived while the previous batch was being written goes
//! into the next, so a lone request waits for no one.

use chrono::{DateTime, Utc};
use database::Db;
use entity::audit_event;
use entity::prelude::AuditEvent;
use sea_orm::{DbErr, EntityTrait};
use tokio::sync::{mpsc, oneshot};

use crate::audit::{self, AuditEntry};
use crate::auth::ClientInfo;
use crate::error::{is_unavailable, ServiceError};

/// Most events in one `INSERT`: 7 parameters each stays under SQL Server's 2,100.
const MAX_BATCH: usize = 256;
/// Events waiting for the writer before senders wait too (back-pressure).
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

/// Why a batch was not written, given to every request in it.
#[derive(Debug, Clone)]
enum BatchFailure {
    /// The database could not be reached.
    Unavailable(String),
    /// Anything else.
    Internal(String),
}

impl From<BatchFailure> for ServiceError {
    fn from(failure: BatchFailure) -> Self {
        match failure {
            BatchFailure::Unavailable(cause) => Self::Unavailable(DbErr::Custom(cause)),
            BatchFailure::Internal(cause) => Self::Internal(cause),
        }
    }
}

struct Pending {
    row: audit_event::ActiveModel,
    written: oneshot::Sender<Result<(), BatchFailure>>,
}

/// The handle requests record through (cheap to clone).
#[derive(Clone, Debug)]
pub struct AuditQueue {
    sender: mpsc::Sender<Pending>,
}

impl AuditQueue {
    /// Starts the writer task on the current Tokio runtime, writing through `db`.
    pub fn start(db: Db) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_batches(db, receiver));
        Self { sender }
    }

    /// Records one event and returns once the batch holding it is committed.
    pub(crate) async fn record(
        &self,
        entry: AuditEntry<'_>,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let (written, outcome) = oneshot::channel();
        let pending = Pending {
            row: audit::row(entry, client, now),
            written,
        };
        let stopped = || ServiceError::Internal("the audit writer has stopped".to_owned());
        self.sender.send(pending).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?.map_err(Into::into)
    }
}

/// The writer: takes what is waiting (up to [`MAX_BATCH`]), inserts it in one statement, tells
/// each sender the outcome; ends when every handle is gone.
async fn write_batches(db: Db, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, waiters): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|pending| (pending.row, pending.written))
            .unzip();
        let outcome = AuditEvent::insert_many(rows)
            .exec_without_returning(&db)
            .await
            .map(|_| ())
            .map_err(|error| {
                log::warn!("audit events not written: {error}");
                if is_unavailable(&error) {
                    BatchFailure::Unavailable(error.to_string())
                } else {
                    BatchFailure::Internal(error.to_string())
                }
            });
        for waiter in waiters {
            // A request that gave up waiting (client gone) does not stop the others.
            let _ = waiter.send(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditAction;
    use database::{connect, DatabaseUrl, PoolSettings};
    use sea_orm::{ConnectionTrait, PaginatorTrait, Statement};

    async fn sqlite(dir: &tempfile::TempDir) -> Db {
        let path = dir.path().join("audit.db").display().to_string();
        let url = format!("sqlite:////{}", path.trim_start_matches('/'));
        let db = connect(
            &DatabaseUrl::parse(&url).expect("url"),
            &PoolSettings::default(),
        )
        .await
        .expect("sqlite");
        migration::up(&db, None).await.expect("migrations");
        db
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_are_all_recorded_before_they_return() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sqlite(&dir).await;
        let queue = AuditQueue::start(db.clone());
        let client = ClientInfo::new(Some("test"), Some("192.0.2.1".into()));
        let mut tasks = Vec::new();
        for n in 0..300 {
            let (queue, client) = (queue.clone(), client.clone());
            tasks.push(tokio::spawn(async move {
                let session = format!("session-{n}");
                let entry = AuditEntry::new(AuditAction::ProfileRead, n, &session);
                queue.record(entry, &client, Utc::now()).await
            }));
        }
        for task in tasks {
            task.await.expect("task").expect("recorded");
        }
        let stored = AuditEvent::find().count(&db).await.expect("count");
        assert_eq!(stored, 300);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_request_in_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sqlite(&dir).await;
        db.execute(Statement::from_string(
            db.get_database_backend(),
            "DROP TABLE audit_events",
        ))
        .await
        .expect("drop");
        let queue = AuditQueue::start(db);
        let entry = AuditEntry::new(AuditAction::ProfileRead, 1, "s");
        let error = queue
            .record(entry, &ClientInfo::default(), Utc::now())
            .await
            .expect_err("nothing to write into");
        assert!(matches!(error, ServiceError::Internal(_)), "{error:?}");
    }
}
