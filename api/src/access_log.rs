//! The access log: one structured line per request with its method, route pattern, status,
//! latency and, once known, the patient. Never the query string, headers or body.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// The patient a request acted for, noted by the guard or the handler that learnt it.
#[derive(Debug, Clone, Copy)]
pub struct PatientOfRequest(pub i64);

/// Notes the patient a request acts for, for its access-log line.
pub fn note_patient(req: &HttpRequest, patient_id: i64) {
    req.extensions_mut().insert(PatientOfRequest(patient_id));
}

/// Middleware: logs the request once its response is ready.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // The access line is info: with the log at warn (as benchmarks run it), nothing below is
    // worth computing for every request.
    if !log::log_enabled!(target: "access", log::Level::Warn) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let outcome = next.call(req).await;
    if !log::log_enabled!(target: "access", log::Level::Info) && outcome.is_ok() {
        return outcome;
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let latency_ms = (latency_ms * 100.0).round() / 100.0;
    match &outcome {
        Ok(response) => {
            let request = response.request();
            // The route pattern (`/auth/sessions/{session_id}`), never the raw path with its ids;
            // requests no route claimed are logged with the route `-`.
            let route = request.match_pattern().unwrap_or_else(|| "-".to_owned());
            // Also a field of its own, so the text format (which has no request scope) shows it.
            let request_id = crate::request_id::current();
            let patient = request.extensions().get::<PatientOfRequest>().map(|p| p.0);
            let status = response.status().as_u16();
            let peer = request
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            match patient {
                Some(patient_id) => log::info!(
                    target: "access",
                    method = method.as_str(), route = route.as_str(), status = status,
                    latency_ms = latency_ms, patient_id = patient_id, peer = peer.as_str(),
                    request_id = request_id.as_str();
                    "{method} {route} {status} {latency_ms}ms"
                ),
                None => log::info!(
                    target: "access",
                    method = method.as_str(), route = route.as_str(), status = status,
                    latency_ms = latency_ms, peer = peer.as_str(), request_id = request_id.as_str();
                    "{method} {route} {status} {latency_ms}ms"
                ),
            }
        }
        Err(error) => log::warn!(
            target: "access",
            method = method.as_str(), latency_ms = latency_ms;
            "{method} failed before a response: {error}"
        ),
    }
    outcome
}
