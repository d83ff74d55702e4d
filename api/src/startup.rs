//! Building the application exactly as production runs it: connect, migrate, bind, serve.
//! Tests call the same [`Application::build`] with port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, RETRY_AFTER, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders};
use actix_web::ResponseError;
use actix_web::{web, App, HttpServer};
use database::{connect, ConnectError, Db};
use service::mail::MailDelivery;
use service::{AuditQueue, AuthService, Clock, ServiceError, SystemClock};

use crate::error::ApiError;
use crate::json_body::BodyLimit;
use crate::rate_limit::{LimitStore, RateLimits, StoreError};
use crate::settings::Settings;
use crate::state::AppState;
use crate::{access_log, rate_limit, request_id, routes};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Pending migrations could not be applied.
    #[error("applying migrations: {0}")]
    Migrate(migration::MigrationError),
    /// The authentication service could not be built.
    #[error("setting up authentication: {0}")]
    Auth(#[from] ServiceError),
    /// The rate-limit store could not be set up.
    #[error(transparent)]
    RateLimitStore(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Host and port asked for.
        address: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

impl Application {
    /// Builds the application with the system clock.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the application with a given clock (tests move time without sleeping).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let db = open_database(&settings).await?;
        let store = LimitStore::new(settings.redis.clone()).await?;
        let audit_queue = AuditQueue::start(db.clone());
        let auth =
            AuthService::new(settings.auth, Arc::clone(&clock))?.with_audit_queue(audit_queue);
        MailDelivery::new(
            db.clone(),
            settings.mail.transport.clone(),
            auth.mailer().identity().from.email.clone(),
            clock,
            settings.mail.delivery.clone(),
        )
        .spawn(auth.mailer().wake_handle());
        let state = AppState {
            db,
            auth: Arc::new(auth),
            limits: RateLimits::new(settings.rate_limits.clone(), store),
            client_ip: settings.trusted_proxies.clone(),
            public_api_url: settings.public_api_url.clone(),
            mail_transport: settings.mail.transport.clone(),
            ready_checks_mail: settings.mail.ready_checks_mail,
            openapi_json: Arc::default(),
        };
        if let Some(every) = settings.session_cleanup_interval {
            tokio::spawn(purge_expired_sessions(state.clone(), every));
        }

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();
        let body_limit = BodyLimit(settings.max_body_bytes);
        let db = state.db.clone();
        let data = web::Data::new(state);
        let cors_origins = settings.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(body_limit)
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                // Listed innermost first: rate limits see only real attempts, CORS headers
                // reach 429s too, and every line logged carries the request id.
                .wrap(from_fn(rate_limit::middleware))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    cors(&cors_origins),
                ))
                .wrap(from_fn(cors_refusals))
                .wrap(security_headers())
                .wrap(from_fn(access_log::middleware))
                .wrap(from_fn(request_id::middleware))
        })
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?;
        if settings.http_workers > 0 {
            server = server.workers(settings.http_workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            db,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that can stop the server (tests stop theirs when they end).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the process is told to stop. On SIGTERM or SIGINT the server stops
    /// accepting, lets in-flight requests finish (up to the shutdown timeout), then closes the
    /// database pool so the database sees every connection end cleanly.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        log::info!("server stopped; closing the database pool");
        if let Err(error) = self.db.close().await {
            log::warn!("closing the database pool: {error}");
        }
        served
    }
}

/// Headers on every response that does not set its own: nothing is cached, sniffed, framed,
/// leaked through `Referer`, or run as a page (the API only ever answers JSON).
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((CACHE_CONTROL, "no-store"))
        .add((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((REFERRER_POLICY, "no-referrer"))
        .add((X_FRAME_OPTIONS, "DENY"))
        .add((
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
}

/// CORS for the listed browser origins. Tokens travel in the `Authorization` header, never in
/// cookies, so no credentials mode is needed. Another origin gets no CORS headers, and the
/// browser refuses to hand it the response.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "DELETE"])
        .allowed_headers([AUTHORIZATION, CONTENT_TYPE, request_id::HEADER])
        .expose_headers([
            request_id::HEADER,
            RETRY_AFTER,
            WWW_AUTHENTICATE,
            HeaderName::from_static("content-length"),
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Gives the CORS middleware's refusals (plain text) the contract's JSON error body.
async fn cors_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let refusal = response
        .response()
        .error()
        .and_then(|error| error.as_error::<CorsError>())
        .map(|cors| ApiError::cors_refused(cors.to_string()));
    Ok(match refusal {
        Some(error) => response
            .into_response(error.error_response())
            .map_into_right_body(),
        None => response.map_into_left_body(),
    })
}

/// Deletes expired sessions and refresh tokens now and then, so the tables do not grow without
/// bound. Every instance may run it: the deletes are idempotent.
async fn purge_expired_sessions(state: AppState, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match state.auth.purge_expired(&state.db).await {
            Ok(report)
                if report.sessions
                    + report.refresh_tokens
                    + report.account_tokens
                    + report.mail_records
                    > 0 =>
            {
                log::info!(
                    "removed {} expired sessions, {} expired refresh tokens, {} expired mailed \
                     links and {} old mail records",
                    report.sessions,
                    report.refresh_tokens,
                    report.account_tokens,
                    report.mail_records
                );
            }
            Ok(_) => {}
            Err(error) => log::warn!(
                "session clean-up failed (retried in {}s): {error}",
                every.as_secs()
            ),
        }
    }
}

/// Connects and, unless turned off, applies pending migrations.
pub async fn open_database(settings: &Settings) -> Result<Db, StartupError> {
    log::info!("database: {}", settings.database);
    let db = connect(&settings.database, &settings.pool).await?;
    if settings.auto_migrate {
        migration::up(&db, None)
            .await
            .map_err(StartupError::Migrate)?;
    }
    Ok(db)
}
