//! `GET /health` (the process runs) and `GET /ready` (the database, and Redis if configured,
//! answer).

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
    if let Err(error) = state.db.ping().await {
        log::warn!("readiness check failed: database: {error}");
        return Err(ApiError::unavailable());
    }
    if state.limits.store().redis_answers().await == Some(false) {
        log::warn!("readiness check failed: Redis does not answer");
        return Err(ApiError::unavailable_because(
            "The service cannot reach Redis, which shares its rate limits. Try again shortly.",
        ));
    }
    Ok(HttpResponse::Ok().json(StatusResponse { status: "ready" }))
}
