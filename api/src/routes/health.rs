//! `GET /health` (the process runs) and `GET /ready` (the database, and Redis if configured,
//! answer).

use actix_web::{web, HttpResponse};

use crate::dto::StatusResponse;
use crate::error::ApiError;
use crate::openapi::ServiceUnavailable;
use crate::routes::Operation;
use crate::state::AppState;

/// The health operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_health>(|r| r.to(health)),
        Operation::of::<__path_ready>(|r| r.to(ready)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Liveness: answers while the process runs, without touching the database.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "The process runs.", body = StatusResponse,
            example = json!({"status": "ok"})),
    )
)]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(StatusResponse { status: "ok" })
}

/// Readiness: answers `ready` when the database (and Redis, if configured, and the mail server,
/// if `READY_CHECKS_MAIL` is on) answer.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    responses(
        (status = 200, description = "The database (and Redis, if configured) answer.", body = StatusResponse,
            example = json!({"status": "ready"})),
        (status = 503, response = ServiceUnavailable),
    )
)]
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
    if state.ready_checks_mail {
        if let Err(error) = state.mail_transport.check().await {
            log::warn!("readiness check failed: mail: {error}");
            return Err(ApiError::unavailable_because(
                "The service cannot reach its mail server. Try again shortly.",
            ));
        }
    }
    Ok(HttpResponse::Ok().json(StatusResponse { status: "ready" }))
}
