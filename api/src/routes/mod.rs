//! HTTP routes, one module per area; each exposes `configure`.

pub mod auth;
pub mod health;

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::ApiError;

/// A resource whose other methods get the contract's JSON `405` with an `Allow` header.
pub(crate) fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response: HttpResponse = ApiError::method_not_allowed().error_response();
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        response
    }))
}

/// The JSON `404` for every address no route claims.
pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}
