//! Password hashing: argon2id with OWASP's parameters for new hashes, passlib bcrypt hashes from
//! the Flask backend still verified (and reported for upgrade). All hashing runs on a fixed set
//! of dedicated threads, one per core by default, never on an async worker.
//!
//! Each argon2 computation needs 19 MiB of working memory. Allocated and freed per hash, the
//! allocator kept those blocks around in fragmented arenas: ~940 MiB resident after a 1000-login
//! burst on Tokio's blocking pool, still ~240 MiB on two fixed threads. So each hashing thread
//! owns one working area for its life and every hash on that thread reuses it.

use std::sync::{mpsc, Arc, Mutex};

use std::cell::RefCell;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ServiceError;

/// OWASP's argon2id recommendation: 19 MiB of memory, two passes, one lane.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

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
    pub fn new(concurrency: usize) -> Result<Self, ServiceError> {
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
        for index in 0..concurrency {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{index}"))
                .spawn(move || run_jobs(&queue))
                .map_err(internal)?;
        }
        Ok(Self {
            argon2,
            jobs,
            threads: concurrency,
            dummy_hash: dummy_hash.into(),
        })
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

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = PasswordHasher::new(2).expect("hasher");
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
        let hasher = PasswordHasher::new(1).expect("hasher");
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
        let hasher = PasswordHasher::new(1).expect("hasher");
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
        let hasher = PasswordHasher::new(1).expect("hasher");
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
        let hasher = PasswordHasher::new(1).expect("hasher");
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
