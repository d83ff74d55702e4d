//! What every handler shares: the database pool and the authentication service.

use std::sync::Arc;

use database::Db;
use service::AuthService;

/// Shared application state, cloned cheaply into each worker.
#[derive(Clone)]
pub struct AppState {
    /// Connection pool.
    pub db: Db,
    /// Authentication use cases (keys, hasher and clock built once).
    pub auth: Arc<AuthService>,
}
