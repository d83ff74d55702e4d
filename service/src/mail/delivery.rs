//! The delivery worker: takes due messages from the outbox, hands them to the transport, and
//! records each outcome. A failed attempt is retried with exponential backoff until the message
//! is past its use; nothing is lost while the mail server is down, and no request waits for it.

use std::sync::Arc;
use std::time::Duration;

use database::Db;
use entity::mail_outbox;
use lettre::Address;
use sea_orm::{ConnectionTrait, DbErr};
use tokio::sync::Notify;

use super::outbox;
use super::transport::{Delivered, MailTransport};
use super::MailError;
use crate::clock::Clock;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// The wait after a first failed attempt; each further failure doubles it.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// How often the outbox is looked at when nobody wakes the worker (other instances' mail,
    /// retries that fell due).
    pub poll_interval: Duration,
    /// The longest one attempt may take, connection to goodbye (lettre's own timeout covers
    /// only the connection: a server that accepts and then says nothing would hold the worker).
    pub attempt_timeout: Duration,
    /// How long a claimed message stays with its worker; longer than an attempt.
    pub lease: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(120),
        }
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages handed over.
    pub sent: u32,
    /// Messages whose attempt failed and that will be tried again.
    pub retried: u32,
    /// Messages past their use, no longer tried.
    pub given_up: u32,
}

/// Messages looked at per query.
const BATCH: u64 = 20;
/// Batches per pass, so that one pass ends even while others keep queueing.
const BATCHES_PER_PASS: usize = 50;

/// Delivers the outbox's messages; one per instance, all sharing the table. `C` is the
/// connection (the server's pool, [`Db`]).
pub struct MailDelivery<C = Db> {
    db: C,
    transport: MailTransport,
    from: Address,
    clock: Arc<dyn Clock>,
    worker_id: String,
    settings: DeliverySettings,
}

impl<C> MailDelivery<C>
where
    C: ConnectionTrait + Send + Sync + 'static,
{
    /// A worker delivering through `transport` as `from`.
    pub fn new(
        db: C,
        transport: MailTransport,
        from: Address,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            db,
            transport,
            from,
            clock,
            worker_id: uuid::Uuid::new_v4().to_string(),
            settings,
        }
    }

    /// The transport (for `/ready`).
    pub fn transport(&self) -> &MailTransport {
        &self.transport
    }

    /// Runs in the background until the process ends: a pass whenever `wake` is notified or the
    /// poll interval has passed.
    pub fn spawn(self, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            log::info!("mail goes to {}", self.transport.describe());
            loop {
                if let Err(error) = self.deliver_due().await {
                    log::warn!(
                        "the mail outbox could not be read (tried again in {}s): {error}",
                        self.settings.poll_interval.as_secs()
                    );
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        })
    }

    /// One pass: every message due now is tried once.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, DbErr> {
        let mut report = DeliveryReport::default();
        let lease =
            chrono::Duration::from_std(self.settings.lease).unwrap_or(chrono::Duration::minutes(2));
        for _ in 0..BATCHES_PER_PASS {
            let due = outbox::due(&self.db, self.clock.now(), BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut claimed_any = false;
            for mail in due {
                if !outbox::claim(
                    &self.db,
                    mail.mail_id,
                    &self.worker_id,
                    self.clock.now(),
                    lease,
                )
                .await?
                {
                    continue; // another instance has it
                }
                claimed_any = true;
                self.attempt(mail, &mut report).await?;
            }
            if !claimed_any {
                break;
            }
        }
        Ok(report)
    }

    /// Tries one claimed message and records the outcome.
    async fn attempt(
        &self,
        mail: mail_outbox::Model,
        report: &mut DeliveryReport,
    ) -> Result<(), DbErr> {
        let now = self.clock.now();
        let who = mail
            .patient_id
            .map_or_else(|| "nobody".to_owned(), |id| format!("patient {id}"));
        let Some(message) = mail.message.as_deref().filter(|_| mail.expires_at > now) else {
            outbox::give_up(&self.db, mail.mail_id, &self.worker_id, now, "expired").await?;
            log::warn!(
                "mail {} ({}) for {who} not delivered before it expired; given up after {} attempts",
                mail.mail_id,
                mail.kind,
                mail.attempts
            );
            report.given_up += 1;
            return Ok(());
        };
        let file_stem = format!(
            "{}-{}-{}",
            mail.created_at.format("%Y%m%dT%H%M%SZ"),
            mail.mail_id,
            mail.kind
        );
        // Bounded inside the claim, so that no other instance can take the message while a
        // slow server still holds this attempt, and a silent one cannot hold the worker.
        let attempt = tokio::time::timeout(
            self.settings.attempt_timeout,
            self.transport
                .deliver(&self.from, &mail.recipient, message, &file_stem),
        );
        let outcome = match attempt.await {
            Ok(outcome) => outcome,
            Err(_) => Err(MailError::Delivery(format!(
                "the mail server did not finish within {} s",
                self.settings.attempt_timeout.as_secs()
            ))),
        };
        match outcome {
            Ok(delivered) => {
                outbox::mark_sent(&self.db, mail.mail_id, &self.worker_id, self.clock.now())
                    .await?;
                match delivered {
                    Delivered::Relayed => log::info!(
                        "mail {} ({}) for {who} handed to {}",
                        mail.mail_id,
                        mail.kind,
                        self.transport.describe()
                    ),
                    Delivered::File(path) => log::info!(
                        "mail {} ({}) for {who} written to {}",
                        mail.mail_id,
                        mail.kind,
                        path.display()
                    ),
                }
                report.sent += 1;
            }
            Err(error) => {
                let attempts = mail.attempts.saturating_add(1);
                let wait = self.backoff(attempts);
                let next = self.clock.now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
                outbox::reschedule(
                    &self.db,
                    mail.mail_id,
                    &self.worker_id,
                    attempts,
                    next,
                    &error.to_string(),
                )
                .await?;
                log::warn!(
                    "mail {} ({}) for {who} not delivered (attempt {attempts}), tried again in {}s: {error}",
                    mail.mail_id,
                    mail.kind,
                    wait.as_secs()
                );
                report.retried += 1;
            }
        }
        Ok(())
    }

    /// The wait after the `attempts`-th failure: base, 2×base, 4×base… up to the maximum.
    fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.settings
            .retry_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.settings.retry_max)
    }
}
