//! What authentication costs on this machine: one argon2id verify (the price of a login), one
//! passlib bcrypt-12 verify (a Flask account's first login), a JWT check alone, and a JWT check
//! with the session lookup that makes logout stick (the revocation check), on SQLite and, when
//! reachable, PostgreSQL.
//!
//! Run: `cargo bench -p service --bench auth_costs` (release build; prints medians).
//! `cargo bench -p service --bench auth_costs -- --argon2-only` measures just the verify, for
//! `bench/run.sh` to take right beside its login run (this machine's speed drifts by a third
//! between minutes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use database::Db;
use database::{connect, DatabaseUrl, PoolSettings};
use sea_orm::ConnectionTrait;
use secrecy::{ExposeSecret, SecretString};
use service::password::{HashPriority, PasswordHasher};
use service::tokens::TokenCodec;
use service::{AuthConfig, AuthService, ClientInfo, RegistrationForm, SystemClock};

const SECRET: &str = "bench-secret-0123456789abcdef-0123456789abcdef";
const PASSLIB_BCRYPT_12: &str = "$2b$12$zXVZnqRIU1zYk4GKRhRPz.UXnmwlXeGJnIBU9njbWwcL4JgHesfV6";

/// Any failure ends the run with its message (a database down, a migration refused).
type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn config() -> AuthConfig {
    AuthConfig {
        jwt_secret: SecretString::from(SECRET),
        issuer: "patient-auth".into(),
        audience: "patient-app".into(),
        access_token_lifetime: chrono::Duration::minutes(60),
        leeway: chrono::Duration::seconds(30),
        refresh_token_lifetime: chrono::Duration::days(14),
        refresh_reuse_grace: chrono::Duration::seconds(2),
        hash_concurrency: 1,
        hash_priority: HashPriority::Normal,
        recovery: Default::default(),
        mail: Default::default(),
        mfa: service::MfaConfig {
            secret_box: service::mfa::SecretBox::new(&[7; 32]).expect("key"),
            issuer: "patient-auth".into(),
            challenge_lifetime: chrono::Duration::minutes(5),
            relying_party: service::mfa::RelyingParty::new(
                "localhost",
                "patient-auth",
                &[service::webauthn::Url::parse("http://localhost:5173").expect("origin")],
            )
            .expect("relying party"),
            ceremony_lifetime: chrono::Duration::minutes(5),
        },
    }
}

async fn time_async<F, Fut, E>(runs: usize, mut work: F) -> BenchResult<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::error::Error + 'static,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        work().await?;
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

async fn revocation_check(
    name: &str,
    db: &Db,
    auth: &AuthService,
    codec: &TokenCodec,
) -> BenchResult<()> {
    migration::up(db, None).await?;
    let form = RegistrationForm {
        name: Some("Bench".into()),
        email: Some(format!(
            "bench-{}@example.com",
            uuid::Uuid::new_v4().simple()
        )),
        password: Some(SecretString::from("correct-horse-battery")),
        username: None,
    };
    let grant = auth.register(db, form, &ClientInfo::default()).await?;
    let token = grant.access_token.expose_secret().to_owned();
    for _ in 0..200 {
        auth.authenticate(db, &token).await?;
    }
    let decode_only = time_async(5000, || async {
        codec.decode(&token, Utc::now()).map(drop)
    })
    .await?;
    let with_session = time_async(5000, || async {
        auth.authenticate(db, &token).await.map(drop)
    })
    .await?;
    println!(
        "{name:<10} JWT check alone {:>8.1} µs | JWT + session lookup {:>8.1} µs | revocation check costs {:>8.1} µs per request (median of 5000)",
        decode_only.as_secs_f64() * 1e6,
        with_session.as_secs_f64() * 1e6,
        (with_session.saturating_sub(decode_only)).as_secs_f64() * 1e6
    );
    Ok(())
}

/// Verifies per second with one hashing thread per core, all busy at once: what the cores can
/// really do together (they share caches and memory bandwidth, 19 MiB a verify).
async fn verifies_per_second_on_every_core(cores: usize, hash: &str) -> BenchResult<f64> {
    let hasher = PasswordHasher::new(cores, HashPriority::Normal)?;
    let verify_many = |count: usize| {
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.to_owned());
                tokio::spawn(async move {
                    hasher
                        .verify(SecretString::from("correct-horse-battery"), Some(hash))
                        .await
                        .map(drop)
                })
            })
            .collect();
        async move {
            for task in tasks {
                task.await??;
            }
            BenchResult::Ok(())
        }
    };
    verify_many(cores * 2).await?; // warm-up: every thread's working area in place
    let count = cores * 20;
    let start = Instant::now();
    verify_many(count).await?;
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let hasher = PasswordHasher::new(1, HashPriority::Normal)?;
    let hash = hasher
        .hash(SecretString::from("correct-horse-battery"))
        .await?;
    let argon2 = time_async(21, || async {
        hasher
            .verify(
                SecretString::from("correct-horse-battery"),
                Some(hash.clone()),
            )
            .await
            .map(drop)
    })
    .await?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let all_cores = verifies_per_second_on_every_core(cores, &hash).await?;
    println!("argon2id verify (m=19456 KiB, t=2, p=1): {:.1} ms median of 21 -> at most {:.0} logins/s on {cores} cores", argon2.as_secs_f64() * 1e3, cores as f64 / argon2.as_secs_f64());
    println!(
        "argon2id verify on all {cores} cores at once: {:.1} ms each, {all_cores:.0} verifies/s",
        cores as f64 * 1e3 / all_cores
    );
    if std::env::args().any(|arg| arg == "--argon2-only") {
        return Ok(());
    }
    let bcrypt = time_async(11, || async {
        hasher
            .verify(
                SecretString::from("secret-pass"),
                Some(PASSLIB_BCRYPT_12.into()),
            )
            .await
            .map(drop)
    })
    .await?;
    println!(
        "passlib bcrypt-12 verify (Flask hashes, first login only): {:.1} ms median of 11",
        bcrypt.as_secs_f64() * 1e3
    );

    let codec = TokenCodec::new(
        &SecretString::from(SECRET),
        "patient-auth",
        "patient-app",
        chrono::Duration::minutes(60),
        chrono::Duration::seconds(30),
    );
    let auth = AuthService::new(config(), Arc::new(SystemClock))?;

    let dir = tempfile::tempdir()?;
    let sqlite_url = DatabaseUrl::parse(&format!(
        "sqlite:////{}",
        dir.path()
            .join("bench.db")
            .display()
            .to_string()
            .trim_start_matches('/')
    ))?;
    let sqlite = connect(&sqlite_url, &PoolSettings::default()).await?;
    revocation_check("sqlite", &sqlite, &auth, &codec).await?;

    let admin_url = std::env::var("BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(admin) = connect(&DatabaseUrl::parse(&admin_url)?, &PoolSettings::default()).await
    else {
        println!("postgres   skipped: {admin_url} unreachable");
        return Ok(());
    };
    let name = format!("pa_bench_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    // Measured in a database of its own, dropped whatever the measurement's outcome.
    let measured = async {
        let (base, _) = admin_url
            .rsplit_once('/')
            .ok_or("BENCH_POSTGRES_URL names no database")?;
        let url = DatabaseUrl::parse(&format!("{base}/{name}"))?;
        let postgres = connect(&url, &PoolSettings::default()).await?;
        let outcome = revocation_check("postgres", &postgres, &auth, &codec).await;
        postgres.close().await?;
        outcome
    }
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await?;
    measured
}
