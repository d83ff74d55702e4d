//! Mail: composing what a patient receives ([`compose`]), queueing it in the outbox in the same
//! transaction as the action that sends it ([`outbox`]), and delivering it in the background with
//! retries ([`delivery`]) through SMTP or to an outbox folder ([`transport`]).

pub mod compose;
pub mod delivery;
pub mod language;
pub(crate) mod outbox;
pub mod transport;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use tokio::sync::Notify;

pub use compose::{MailIdentity, MailKind, Notice};
pub use delivery::{DeliveryReport, DeliverySettings, MailDelivery};
pub use language::Language;
pub use transport::{Delivered, MailTransport};

use crate::error::ServiceError;

/// What can go wrong with mail. None of the messages holds a credential or an address.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `SMTP_URL` cannot be used; says why.
    #[error("SMTP_URL {0}")]
    SmtpUrl(String),
    /// The recipient's address cannot be mailed to.
    #[error("the recipient's address is not deliverable")]
    Recipient(String),
    /// The message could not be composed.
    #[error("composing a message: {0}")]
    Compose(String),
    /// The server or folder did not take the message.
    #[error("{0}")]
    Delivery(String),
}

/// Composes messages and queues them; wakes this instance's delivery worker after a commit.
#[derive(Debug, Clone, Default)]
pub struct Mailer {
    identity: MailIdentity,
    wake: Arc<Notify>,
}

impl Mailer {
    /// A mailer writing as `identity`.
    pub fn new(identity: MailIdentity) -> Self {
        Self {
            identity,
            wake: Arc::default(),
        }
    }

    /// Who messages come from and where their links point.
    pub fn identity(&self) -> &MailIdentity {
        &self.identity
    }

    /// What the delivery worker waits on, so a queued message leaves at once.
    pub fn wake_handle(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Tells the delivery worker there is mail (call after the transaction commits).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Composes `notice` for the patient and writes it to the outbox on `db` (the caller's
    /// transaction); it is not worth sending after `expires_at`. An address no message can go
    /// to (a row an operator or the Flask backend wrote) queues nothing and is logged: the
    /// action itself goes on, and its answer does not tell.
    pub(crate) async fn queue<C: ConnectionTrait>(
        &self,
        db: &C,
        patient: &entity::patient::Model,
        language: Language,
        notice: &Notice<'_>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let composed = match compose::compose(
            &self.identity,
            &patient.full_name,
            &patient.email,
            language,
            notice,
        ) {
            Ok(composed) => composed,
            Err(MailError::Recipient(_)) => {
                log::warn!(
                    "patient {}: the stored email address cannot be mailed to; no {} message queued",
                    patient.patient_id,
                    notice.kind().code()
                );
                return Ok(());
            }
            Err(error) => return Err(ServiceError::Internal(error.to_string())),
        };
        outbox::enqueue(db, composed, patient.patient_id, now, expires_at).await?;
        Ok(())
    }
}
