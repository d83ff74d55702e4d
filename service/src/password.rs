//! Password hashing: argon2id with OWASP's parameters for new hashes, passlib bcrypt hashes from
//! the Flask backend still verified (and reported for upgrade). All hashing runs on a fixed set
//! of dedicated threads, one per core by default, never on an async worker.
//!
//! Each argon2 computation needs 19 MiB of working memory. Allocated and freed per hash, the
//! allocator kept those blocks around in fragmented arenas: ~940 MiB resident after a 1000-login
//! burst on Tokio's blocking pool, still ~240 MiB on two fixed threads. So each hashing thread
//! owns one working area for its life and every hash on that thread reuses it.
//!
//! By default the hashing threads run below everything else ([`HashPriority::Idle`]): a hash is
//! 14 ms of pure CPU, and at equal priority a burst of logins held the cores long enough to
//! multiply the p99 of patients' other requests by about four. Below them, logins get every
//! cycle nothing else wants, which on a quiet server is all of them.
//!
//! The scheduler cannot see a database on the same machine, though: with every core hashing,
//! PostgreSQL's processes waited for a time slice and reads slowed down four-fold all the same.
//! So with two or more threads, one is a spare: it hashes only while no other request is being
//! served ([`PasswordHasher::serving`]). Logins alone get every core; logins among reads get all
//! but one, which stays with the reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use serde::Deserialize;

use crate::error::ServiceError;

/// OWASP's argon2id recommendation: 19 MiB of memory, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

/// How the hashing threads share the cores with request handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashPriority {
    /// Below every other thread (Linux `SCHED_IDLE`): requests are never kept waiting behind a
    /// hash; under a flood of other work, logins slow down instead. Elsewhere than Linux, as
    /// `Normal`.
    #[default]
    Idle,
    /// The same as request handling.
    Normal,
}

/// How often the spare hashing thread looks again whether requests are still being served.
const SPARE_RECHECK: Duration = Duration::from_millis(2);

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password does not match (or there was no account to match).
    Mismatch,
    /// The password matches; `needs_upgrade` when the stored hash is not current argon2id.
    Match {
        /// The stored hash should be replaced by a current argon2id hash.
        needs_upgrade: bool,
    },
}

/// A unit of hashing work for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords off the async workers, a bounded number at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    jobs: mpsc::Sender<Job>,
    threads: usize,
    /// A hash of a random password, verified when an account does not exist so that unknown
    /// accounts cost the same as wrong passwords.
    dummy_hash: Arc<str>,
    /// Requests being served that do not hash; the spare thread rests while there are any.
    serving: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher running at most `concurrency` hashes at once (0 = one per core).
    pub fn new(concurrency: usize, priority: HashPriority) -> Result<Self, ServiceError> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(internal)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            concurrency
        };
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(internal)?;
        let dummy_hash = hash_with(&argon2, &random)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let serving = Arc::new(AtomicUsize::new(0));
        for index in 0..concurrency {
            let queue = Arc::clone(&queue);
            let serving = Arc::clone(&serving);
            let spare = concurrency > 1 && index == concurrency - 1;
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || {
                    lower_priority(priority);
                    if spare {
                        run_spare_jobs(&queue, &serving);
                    } else {
                        run_jobs(&queue);
                    }
                })
                .map_err(internal)?;
        }
        Ok(Self {
            argon2,
            jobs,
            threads: concurrency,
            dummy_hash: dummy_hash.into(),
            serving,
        })
    }

    /// Marks a request that does not hash as being served, until the guard is dropped; while any
    /// is, the spare hashing thread leaves its core to them.
    pub fn serving(&self) -> Serving<'_> {
        self.serving.fetch_add(1, Ordering::Relaxed);
        Serving(&self.serving)
    }

    /// Hashes a password into an argon2id PHC string.
    pub async fn hash(&self, password: SecretString) -> Result<String, ServiceError> {
        let argon2 = self.argon2.clone();
        self.run_blocking(move || hash_with(&argon2, password.expose_secret().as_bytes()))
            .await?
    }

    /// Checks `password` against `stored`; with `None` (no such account) it spends the same time
    /// on a dummy hash and reports a mismatch.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<Verification, ServiceError> {
        let argon2 = self.argon2.clone();
        let dummy = Arc::clone(&self.dummy_hash);
        self.run_blocking(move || match stored {
            Some(stored) => verify_stored(&argon2, password.expose_secret(), &stored),
            None => {
                let _ = verify_argon2(&argon2, password.expose_secret(), &dummy);
                Verification::Mismatch
            }
        })
        .await
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The receiver is gone only if the request was abandoned; nothing to tell then.
            let _ = reply.send(work());
        });
        self.jobs.send(job).map_err(internal)?;
        answer.await.map_err(internal)
    }
}

/// Puts the calling thread below request handling when `priority` asks for it. A refusal by
/// the system only costs latency, so it is logged, not fatal.
fn lower_priority(priority: HashPriority) {
    if priority != HashPriority::Idle {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadSchedulePolicy,
        };
        use thread_priority::ThreadPriority;
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(error) =
            set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
        {
            log::warn!("password hashing runs at normal priority: {error:?}");
        }
    }
}

/// A request being served (see [`PasswordHasher::serving`]); counted until dropped.
#[derive(Debug)]
#[must_use = "the request counts as served only while the guard lives"]
pub struct Serving<'a>(&'a AtomicUsize);

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The spare hashing thread: like [`run_jobs`], but takes a job only while no request is being
/// served, and looks again every [`SPARE_RECHECK`].
fn run_spare_jobs(queue: &Mutex<mpsc::Receiver<Job>>, serving: &AtomicUsize) {
    loop {
        while serving.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(SPARE_RECHECK);
        }
        let receiver = match queue.lock() {
            Ok(receiver) => receiver,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Waiting for the queue may have taken a while: look again before taking a job.
        if serving.load(Ordering::Relaxed) > 0 {
            continue;
        }
        let next = receiver.recv_timeout(SPARE_RECHECK);
        drop(receiver);
        match next {
            Ok(job) => job(),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// A hashing thread: takes jobs until every `PasswordHasher` clone is gone.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match next {
            Ok(job) => job(),
            Err(mpsc::RecvError) => return,
        }
    }
}

thread_local! {
    /// This thread's argon2 working memory, grown to the largest parameters seen and reused.
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with this thread's reusable working memory, writing `out.len()` bytes.
fn argon2_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    WORKING_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let needed = argon2.params().block_count();
        if memory.len() < needed {
            memory.resize(needed, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..])
    })
}

/// Hashes a password into an argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn hash_with(argon2: &Argon2<'_>, password: &[u8]) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(internal)?;
    let mut out = [0u8; 32];
    argon2_into(argon2, password, &salt, &mut out).map_err(internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(internal)?;
    let output = Output::new(&out).map_err(internal)?;
    let params = argon2.params();
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

fn verify_stored(argon2: &Argon2<'_>, password: &str, stored: &str) -> Verification {
    if is_bcrypt(stored) {
        // passlib's bcrypt, as the Flask backend wrote it; `verify` truncates at 72 bytes as passlib did.
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verification::Match {
                needs_upgrade: true,
            },
            _ => Verification::Mismatch,
        };
    }
    verify_argon2(argon2, password, stored)
}

fn verify_argon2(argon2: &Argon2<'_>, password: &str, stored: &str) -> Verification {
    match argon2_matches(password, stored) {
        Some(true) => {
            let current = stored.starts_with("$argon2id$")
                && PasswordHash::new(stored)
                    .ok()
                    .and_then(|parsed| Params::try_from(&parsed).ok())
                    .is_some_and(|p| {
                        p.m_cost() == argon2.params().m_cost()
                            && p.t_cost() == argon2.params().t_cost()
                            && p.p_cost() == argon2.params().p_cost()
                    });
            Verification::Match {
                needs_upgrade: !current,
            }
        }
        Some(false) => Verification::Mismatch,
        None => {
            log::warn!("a stored password hash is in no known format; the login is refused");
            Verification::Mismatch
        }
    }
}

/// Recomputes an argon2 PHC hash (any variant and parameters) with `password` and compares in
/// constant time; `None` when `stored` is not a readable argon2 hash.
fn argon2_matches(password: &str, stored: &str) -> Option<bool> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .ok()?;
    let expected = parsed.hash?;
    let params = Params::try_from(&parsed).ok()?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut out = vec![0u8; expected.len()];
    let params = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    )
    .ok()?;
    argon2_into(
        &Argon2::new(algorithm, version, params),
        password.as_bytes(),
        salt,
        &mut out,
    )
    .ok()?;
    Some(Output::new(&out).ok()? == expected)
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|prefix| hash.starts_with(prefix))
}

fn internal(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("password hashing: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_spare_thread_hashes_only_while_no_request_is_served() {
        let hasher = PasswordHasher::new(2, HashPriority::Normal).expect("hasher");
        let thread_name = || std::thread::current().name().map(str::to_owned);
        // The first thread is busy with a long job; while a request is being served, the next
        // job waits for it rather than going to the spare thread.
        let serving = hasher.serving();
        // A spare thread already waiting for a job when the request began may take one within
        // SPARE_RECHECK; past that, it rests.
        tokio::time::sleep(SPARE_RECHECK * 10).await;
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = hasher.clone();
        let busy = tokio::spawn(async move {
            first
                .run_blocking(move || {
                    let _ = hold.recv();
                    thread_name()
                })
                .await
        });
        tokio::time::sleep(SPARE_RECHECK * 10).await;
        let waiting = hasher.run_blocking(thread_name);
        tokio::pin!(waiting);
        let raced = tokio::time::timeout(Duration::from_millis(100), &mut waiting).await;
        assert!(
            raced.is_err(),
            "the spare thread took a job during a request"
        );
        // The request ends: the spare thread takes the waiting job.
        drop(serving);
        let spare = tokio::time::timeout(Duration::from_secs(5), &mut waiting)
            .await
            .expect("the spare thread never took the job")
            .expect("job");
        assert_eq!(spare.as_deref(), Some("password-hash-1"));
        release.send(()).expect("release");
        let first_thread = busy.await.expect("task").expect("job");
        assert_eq!(first_thread.as_deref(), Some("password-hash-0"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_requests_unless_told_otherwise() {
        use thread_priority::unix::{
            thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        let policy_of_a_hashing_thread = |priority| async move {
            let hasher = PasswordHasher::new(1, priority).expect("hasher");
            hasher
                .run_blocking(thread_schedule_policy)
                .await
                .expect("job")
                .expect("policy")
        };
        assert_eq!(
            policy_of_a_hashing_thread(HashPriority::Idle).await,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(
            policy_of_a_hashing_thread(HashPriority::Normal).await,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = PasswordHasher::new(2, HashPriority::Normal).expect("hasher");
        let hash = hasher.hash(secret("secret-pass")).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            hasher
                .verify(secret("secret-pass"), Some(hash.clone()))
                .await
                .expect("verify"),
            Verification::Match {
                needs_upgrade: false
            }
        );
        assert_eq!(
            hasher
                .verify(secret("secret-pasS"), Some(hash))
                .await
                .expect("verify"),
            Verification::Mismatch
        );
    }

    #[test]
    fn our_hashes_and_the_argon2_crates_own_verify_each_other() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB, ITERATIONS, LANES, None).expect("params"),
        );
        let ours = hash_with(&argon2, b"secret-pass").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a valid PHC string");
        assert!(argon2.verify_password(b"secret-pass", &parsed).is_ok());
        assert!(argon2.verify_password(b"secret-pasS", &parsed).is_err());
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let theirs = argon2
            .hash_password(b"secret-pass", &salt)
            .expect("hash")
            .to_string();
        assert_eq!(argon2_matches("secret-pass", &theirs), Some(true));
        assert_eq!(argon2_matches("secret-pasS", &theirs), Some(false));
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1024, 1, 1, Some(16)).expect("params"),
        );
        let legacy = argon2i
            .hash_password(b"secret-pass", &salt)
            .expect("hash")
            .to_string();
        assert_eq!(
            argon2_matches("secret-pass", &legacy),
            Some(true),
            "other variants, versions and lengths verify too"
        );
    }

    #[tokio::test]
    async fn an_unknown_account_is_a_mismatch() {
        let hasher = PasswordHasher::new(1, HashPriority::Normal).expect("hasher");
        assert_eq!(
            hasher
                .verify(secret("anything"), None)
                .await
                .expect("verify"),
            Verification::Mismatch
        );
    }

    /// Made by passlib 1.7.4 with bcrypt 4.0.1 (`passlib.hash.bcrypt.hash(...)`), as the Flask backend stored them.
    const PASSLIB_SECRET_PASS: &str =
        "$2b$12$zXVZnqRIU1zYk4GKRhRPz.UXnmwlXeGJnIBU9njbWwcL4JgHesfV6";
    const PASSLIB_UNICODE: &str = "$2b$12$BufKMR7VIflnVuSuB3OL1.CwdR2v5h9BGba51I7cvy1mfdABQKqVi";

    #[tokio::test]
    async fn a_passlib_bcrypt_hash_matches_and_asks_for_an_upgrade() {
        let hasher = PasswordHasher::new(1, HashPriority::Normal).expect("hasher");
        let check =
            |password: &str, stored: &str| hasher.verify(secret(password), Some(stored.to_owned()));
        assert_eq!(
            check("secret-pass", PASSLIB_SECRET_PASS)
                .await
                .expect("verify"),
            Verification::Match {
                needs_upgrade: true
            }
        );
        assert_eq!(
            check("كلمة-سر-🔑", PASSLIB_UNICODE).await.expect("verify"),
            Verification::Match {
                needs_upgrade: true
            }
        );
        assert_eq!(
            check("wrong-pass", PASSLIB_SECRET_PASS)
                .await
                .expect("verify"),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn weaker_argon2_parameters_ask_for_an_upgrade() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).expect("params"),
        );
        let hash = hash_with(&weak, b"secret-pass").expect("hash");
        let hasher = PasswordHasher::new(1, HashPriority::Normal).expect("hasher");
        assert_eq!(
            hasher
                .verify(secret("secret-pass"), Some(hash))
                .await
                .expect("verify"),
            Verification::Match {
                needs_upgrade: true
            }
        );
    }

    #[tokio::test]
    async fn garbage_in_the_hash_column_is_a_mismatch_not_a_panic() {
        let hasher = PasswordHasher::new(1, HashPriority::Normal).expect("hasher");
        for stored in ["", "plaintext", "$2b$12$short", "$argon2id$v=19$broken"] {
            assert_eq!(
                hasher
                    .verify(secret("x"), Some(stored.into()))
                    .await
                    .expect("verify"),
                Verification::Mismatch,
                "{stored}"
            );
        }
    }
}
