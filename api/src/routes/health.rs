//! `GET /health` (the process runs) and `GET /ready` (the database answers).

use actix_web::{web, HttpResponse};

use crate::dto::StatusResponse;
use crate::error::ApiError;
use crate::routes::resource;
use crate::state::AppState;

/// Registers the health routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/health", "GET").route(web::get().to(health)))
        .service(resource("/ready", "GET").route(web::get().to(ready)));
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(StatusResponse { status: "ok" })
}

async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.db.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(StatusResponse { status: "ready" })),
        Err(error) => {
            log::warn!("readiness check failed: {error}");
            Err(ApiError::unavailable())
        }
    }
}
