//! Where attempt counters live: in this process, or in Redis shared by every instance.
//!
//! Both stores are `actix-extensible-rate-limit`'s fixed-window backends, so a limit means the
//! same thing with and without Redis. While Redis cannot be reached, counting falls back to this
//! process: the service keeps answering (limits are then per instance), says so once in the log,
//! and `/ready` reports it until Redis answers again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_extensible_rate_limit::backend::memory::InMemoryBackend;
use actix_extensible_rate_limit::backend::redis::RedisBackend;
use actix_extensible_rate_limit::backend::{Backend, SimpleInput, SimpleOutput};
use actix_extensible_rate_limit::HeaderCompatibleOutput;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How often expired in-process counters are dropped.
const MEMORY_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// How often a Redis that was down at start-up is tried again.
const REDIS_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// Redis connection settings (`Debug` leaves out the URL, which may hold a password).
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://…` address.
    pub url: String,
    /// Prefix of every key written, so one Redis can serve several deployments.
    pub key_prefix: String,
    /// Longest wait for a connection or an answer before falling back.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &"<redacted>")
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `REDIS_URL` is not a Redis address.
    #[error("REDIS_URL is not a usable Redis address: {0}")]
    RedisUrl(redis::RedisError),
    /// The in-process store's sweeper thread could not be started.
    #[error("cannot start the rate-limit sweeper: {0}")]
    Sweeper(std::io::Error),
}

/// The outcome of counting one attempt.
pub struct Counted {
    /// Whether the attempt is within its limit.
    pub allowed: bool,
    /// Seconds until the window resets (for `Retry-After`).
    pub retry_after_seconds: u64,
    /// Attempts left in this window after this one.
    pub remaining: u64,
    /// Takes the attempt back (see [`LimitStore::take_back`]).
    pub token: TakeBack,
}

/// What is needed to take one counted attempt back, from the store that counted it.
pub enum TakeBack {
    /// Counted in this process.
    Memory(String),
    /// Counted in Redis.
    Redis(String),
}

/// The counters of this instance (cheap to clone).
#[derive(Clone)]
pub struct LimitStore {
    memory: Arc<MemoryStore>,
    redis: Option<Arc<SharedRedis>>,
}

impl LimitStore {
    /// A store in this process, shared through Redis when `redis` is given. A Redis that does
    /// not answer yet is not an error: it is tried again in the background.
    pub async fn new(redis: Option<RedisSettings>) -> Result<Self, StoreError> {
        let memory = Arc::new(MemoryStore::start()?);
        let redis = match redis {
            Some(settings) => Some(SharedRedis::connect(settings).await?),
            None => None,
        };
        Ok(Self { memory, redis })
    }

    /// Counts one attempt under `key`: at most `max` per `window`.
    pub async fn hit(&self, key: String, max: u64, window: Duration) -> Counted {
        let input = SimpleInput {
            interval: window,
            max_requests: max,
            key,
        };
        if let Some(redis) = &self.redis {
            if let Some(counted) = redis.hit(input.clone()).await {
                return counted;
            }
        }
        // The in-process store cannot fail (its error type is `Infallible`).
        match self.memory.backend.request(input).await {
            Ok((decision, output, key)) => {
                counted(decision.is_allowed(), &output, TakeBack::Memory(key))
            }
            Err(never) => match never {},
        }
    }

    /// Takes back an attempt that turned out not to count (a successful login).
    pub async fn take_back(&self, token: TakeBack) {
        match token {
            TakeBack::Memory(key) => {
                let Ok(()) = self.memory.backend.rollback(key).await;
            }
            TakeBack::Redis(key) => {
                if let Some(redis) = &self.redis {
                    redis.take_back(key).await;
                }
            }
        }
    }

    /// `None` without Redis; otherwise whether it answers a `PING` now.
    pub async fn redis_answers(&self) -> Option<bool> {
        match &self.redis {
            Some(redis) => Some(redis.ping().await),
            None => None,
        }
    }
}

fn counted(allowed: bool, output: &SimpleOutput, token: TakeBack) -> Counted {
    Counted {
        allowed,
        retry_after_seconds: output.seconds_until_reset().max(1),
        remaining: output.remaining,
        token,
    }
}

/// The in-process counters, with the thread their sweeper runs on.
///
/// The library's sweeper is spawned with `actix_web::rt::spawn`, which needs a `LocalSet`: the
/// server's workers have one, but the application is built before them (and by tests on a plain
/// Tokio runtime). So the store is built on a small thread of its own that runs the sweeper and
/// ends when the store is dropped.
struct MemoryStore {
    backend: InMemoryBackend,
    _stop_sweeper: tokio::sync::oneshot::Sender<()>,
}

impl MemoryStore {
    fn start() -> Result<Self, StoreError> {
        let (backend_tx, backend_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("rate-limit-sweeper".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = backend_tx.send(Err(error));
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let backend = InMemoryBackend::builder()
                        .with_gc_interval(Some(MEMORY_SWEEP_INTERVAL))
                        .build();
                    if backend_tx.send(Ok(backend.clone())).is_ok() {
                        // Runs the sweeper until the store is dropped.
                        let _ = stop_rx.await;
                    }
                    drop(backend);
                });
            })
            .map_err(StoreError::Sweeper)?;
        let backend = backend_rx
            .recv()
            .map_err(|_| StoreError::Sweeper(std::io::Error::other("sweeper thread ended")))?
            .map_err(StoreError::Sweeper)?;
        Ok(Self {
            backend,
            _stop_sweeper: stop_tx,
        })
    }
}

/// Redis, once connected; tracks whether it answered last time, to log changes once.
struct SharedRedis {
    settings: RedisSettings,
    client: redis::Client,
    link: RwLock<Option<Link>>,
    answering: AtomicBool,
}

#[derive(Clone)]
struct Link {
    backend: RedisBackend,
    connection: ConnectionManager,
}

impl SharedRedis {
    async fn connect(settings: RedisSettings) -> Result<Arc<Self>, StoreError> {
        let client = redis::Client::open(settings.url.as_str()).map_err(StoreError::RedisUrl)?;
        let redis = Arc::new(Self {
            settings,
            client,
            link: RwLock::new(None),
            answering: AtomicBool::new(false),
        });
        if !redis.try_link().await {
            log::warn!(
                "Redis does not answer: rate limits count per instance until it does (retrying every {}s)",
                REDIS_RETRY_INTERVAL.as_secs()
            );
            tokio::spawn(Self::keep_trying(Arc::downgrade(&redis)));
        }
        Ok(redis)
    }

    /// Tries to connect once; on success the link is used from now on.
    async fn try_link(&self) -> bool {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.settings.timeout)
            .set_response_timeout(self.settings.timeout)
            .set_number_of_retries(2)
            .set_max_delay(1_000);
        let attempt = tokio::time::timeout(
            self.settings.timeout * 4,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await;
        let Ok(Ok(connection)) = attempt else {
            return false;
        };
        let backend = RedisBackend::builder(connection.clone())
            .key_prefix(Some(&self.settings.key_prefix))
            .build();
        if let Ok(mut link) = self.link.write() {
            *link = Some(Link {
                backend,
                connection,
            });
        }
        self.mark(true);
        true
    }

    async fn keep_trying(redis: std::sync::Weak<Self>) {
        loop {
            tokio::time::sleep(REDIS_RETRY_INTERVAL).await;
            let Some(redis) = redis.upgrade() else {
                return;
            };
            if redis.try_link().await {
                return;
            }
        }
    }

    fn link(&self) -> Option<Link> {
        self.link.read().ok().and_then(|link| link.clone())
    }

    /// Records whether Redis answered, logging only the changes.
    fn mark(&self, answered: bool) {
        let before = self.answering.swap(answered, Ordering::Relaxed);
        match (before, answered) {
            (false, true) => log::info!("Redis answers: rate limits are shared by every instance"),
            (true, false) => {
                log::warn!("Redis does not answer: rate limits count per instance until it does")
            }
            _ => {}
        }
    }

    /// Counts in Redis; `None` when Redis cannot be used right now.
    async fn hit(&self, input: SimpleInput) -> Option<Counted> {
        let link = self.link()?;
        match tokio::time::timeout(self.settings.timeout, link.backend.request(input)).await {
            Ok(Ok((decision, output, key))) => {
                self.mark(true);
                Some(counted(
                    decision.is_allowed(),
                    &output,
                    TakeBack::Redis(key),
                ))
            }
            Ok(Err(error)) => {
                log::debug!("Redis rate-limit count failed: {error}");
                self.mark(false);
                None
            }
            Err(_) => {
                self.mark(false);
                None
            }
        }
    }

    async fn take_back(&self, key: String) {
        let Some(link) = self.link() else {
            return;
        };
        let outcome = tokio::time::timeout(self.settings.timeout, link.backend.rollback(key)).await;
        if !matches!(outcome, Ok(Ok(()))) {
            self.mark(false);
        }
    }

    async fn ping(&self) -> bool {
        let Some(mut link) = self.link() else {
            return false;
        };
        let answer = tokio::time::timeout(
            self.settings.timeout,
            redis::cmd("PING").query_async::<String>(&mut link.connection),
        )
        .await;
        let answered = matches!(answer, Ok(Ok(_)));
        self.mark(answered);
        answered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_redis_password() {
        let settings = RedisSettings {
            url: "redis://:hunter2-secret@cache:6379/0".into(),
            key_prefix: "patient-auth:".into(),
            timeout: Duration::from_millis(250),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("patient-auth:"), "{shown}");
    }
}
