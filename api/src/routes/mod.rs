//! HTTP routes, one module per area. Each area lists its operations in one table
//! ([`operations`]); [`configure`] serves exactly that table, and each entry takes its method and
//! path from the handler's `#[utoipa::path]`, so what is served and what is documented cannot
//! disagree (the `openapi` tests compare the table with the document).

pub mod auth;
pub mod docs;
pub mod health;
pub mod mfa;
pub mod passkeys;
pub mod recovery;

use std::collections::BTreeMap;

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::Method;
use actix_web::{web, HttpResponse, ResponseError, Route};
use utoipa::openapi::path::HttpMethod;

use crate::error::ApiError;

/// A secret field that was sent and is not empty (an empty one counts as missing).
pub(crate) fn present(value: Option<secrecy::SecretString>) -> Option<secrecy::SecretString> {
    use secrecy::ExposeSecret;
    value.filter(|v| !v.expose_secret().is_empty())
}

/// One operation the server serves: method and path (from its OpenAPI description) and handler.
pub struct Operation {
    /// HTTP method.
    pub method: Method,
    /// Path template, e.g. `/auth/sessions/{session_id}` (actix and OpenAPI spell them alike).
    pub path: String,
    handler: fn(Route) -> Route,
}

impl Operation {
    /// The operation described by `P` (the `__path_<handler>` type of `#[utoipa::path]`), served
    /// by `handler`, e.g. `Operation::of::<__path_login>(|r| r.to(login))`.
    pub(crate) fn of<P: utoipa::Path>(handler: fn(Route) -> Route) -> Vec<Self> {
        P::methods()
            .into_iter()
            .map(|method| Self {
                method: actix_method(&method),
                path: P::path(),
                handler,
            })
            .collect()
    }
}

fn actix_method(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Every operation of the API: the table [`configure`] serves and the document describes.
pub fn operations() -> Vec<Operation> {
    let mut all = health::operations();
    all.extend(auth::operations());
    all.extend(recovery::operations());
    all.extend(mfa::operations());
    all.extend(passkeys::operations());
    all.extend(docs::operations());
    all
}

/// Registers every operation, one resource per path (other methods get a JSON `405` naming the
/// allowed ones), then the Swagger UI's static files.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut by_path: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    for operation in operations() {
        by_path
            .entry(operation.path.clone())
            .or_default()
            .push(operation);
    }
    for (path, operations) in by_path {
        let allow = operations
            .iter()
            .map(|operation| operation.method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut resource = resource(&path, allow);
        for operation in operations {
            resource = resource.route((operation.handler)(web::route().method(operation.method)));
        }
        cfg.service(resource);
    }
    docs::configure_assets(cfg);
}

/// A resource whose other methods get the contract's JSON `405` with an `Allow` header.
fn resource(path: &str, allow: String) -> actix_web::Resource {
    let allow = HeaderValue::from_str(&allow).ok();
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut response: HttpResponse = ApiError::method_not_allowed().error_response();
            if let Some(allow) = allow {
                response.headers_mut().insert(ALLOW, allow);
            }
            response
        }
    }))
}

/// The JSON `404` for every address no route claims.
pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}
