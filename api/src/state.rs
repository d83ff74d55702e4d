//! What every handler shares: the database pool, the authentication service and the limits.

use std::sync::Arc;

use database::Db;
use service::mail::MailTransport;
use service::AuthService;

use crate::client_ip::TrustedProxies;
use crate::rate_limit::RateLimits;

/// Shared application state, cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    /// Connection pool.
    pub db: Db,
    /// Authentication use cases (keys, hasher and clock built once).
    pub auth: Arc<AuthService>,
    /// Attempt limits against brute force.
    pub limits: RateLimits,
    /// Which proxies may name the client's address.
    pub client_ip: TrustedProxies,
    /// `PUBLIC_API_URL`, for the document's `servers`.
    pub public_api_url: Option<String>,
    /// Where mail goes; `/ready` asks it only when `READY_CHECKS_MAIL` is on.
    pub mail_transport: MailTransport,
    /// `READY_CHECKS_MAIL`.
    pub ready_checks_mail: bool,
    /// The served OpenAPI document, built on first request.
    pub openapi_json: Arc<std::sync::OnceLock<Result<String, String>>>,
}
