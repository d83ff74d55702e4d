//! Building the application exactly as production runs it: connect, migrate, bind, serve.
//! Tests call the same [`Application::build`] with port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use actix_web::middleware::{from_fn, DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};
use database::{connect, ConnectError, Db};
use sea_orm::DbErr;
use service::{AuthService, Clock, ServiceError, SystemClock};

use crate::json_body::BodyLimit;
use crate::settings::Settings;
use crate::state::AppState;
use crate::{request_id, routes};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Pending migrations could not be applied.
    #[error("applying migrations: {0}")]
    Migrate(DbErr),
    /// The authentication service could not be built.
    #[error("setting up authentication: {0}")]
    Auth(#[from] ServiceError),
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
        let state = AppState {
            db,
            auth: Arc::new(AuthService::new(settings.auth, clock)?),
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
        let data = web::Data::new(state);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(body_limit)
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(request_id::middleware))
                .wrap(
                    DefaultHeaders::new()
                        .add((CACHE_CONTROL, "no-store"))
                        .add((X_CONTENT_TYPE_OPTIONS, "nosniff")),
                )
                // Path only: a query string could carry something a client should not have sent.
                .wrap(
                    Logger::new("%a \"%{method}xi %U\" %s %b %Dms request_id=%{x-request-id}o")
                        .custom_request_replace("method", |req| req.method().to_string()),
                )
        })
        .shutdown_timeout(10)
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?;
        if settings.http_workers > 0 {
            server = server.workers(settings.http_workers);
        }
        Ok(Self {
            port,
            server: server.run(),
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

    /// Serves until the process is told to stop (SIGINT/SIGTERM finish in-flight requests first).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Deletes expired sessions and refresh tokens now and then, so the tables do not grow without
/// bound. Every instance may run it: the deletes are idempotent.
async fn purge_expired_sessions(state: AppState, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match state.auth.purge_expired(&state.db).await {
            Ok(report) if report.sessions + report.refresh_tokens > 0 => {
                log::info!(
                    "removed {} expired sessions and {} expired refresh tokens",
                    report.sessions,
                    report.refresh_tokens
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
