//! `X-Request-Id`: taken from the client when it is sane, otherwise made here; echoed on every
//! response and available to log lines of the request through a task-local.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The header name.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, or `-` outside a request.
pub fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// A client's id is kept when it is 1–128 characters of `A-Z a-z 0-9 - _ . :`; anything else
/// (which could forge log lines) is replaced.
fn sane(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok = (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    ok.then(|| text.to_owned())
}

/// Middleware: assigns the id, runs the request within its scope, sets the response header.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(sane)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut response = REQUEST_ID.scope(id.clone(), next.call(req)).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        assert_eq!(
            sane(&HeaderValue::from_static("abc-123_x.y:z")),
            Some("abc-123_x.y:z".to_owned())
        );
        for bad in ["", "has space", "line\tbreak", "quote\"", &"x".repeat(129)] {
            let value = HeaderValue::from_str(bad).expect("header value");
            assert_eq!(sane(&value), None, "{bad:?}");
        }
    }
}
