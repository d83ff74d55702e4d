//! `JsonBody<T>`: the request body extractor. It enforces the contract's order of refusals:
//! not declared as JSON → 415, too large → 413, not parseable or not an object or a field of the
//! wrong JSON type → 400 `invalid_json`. Rule violations (422) are the service's business.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The configured body limit, shared as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON object body deserialised into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(16 * 1024, |limit| limit.0);
        let declared_json = is_json_content_type(req);
        let declared_length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let body = web::Payload::from_request(req, payload).into_inner();
        Box::pin(async move {
            if !declared_json {
                return Err(ApiError::unsupported_media_type());
            }
            if declared_length.is_some_and(|length| length > limit) {
                return Err(ApiError::payload_too_large(limit));
            }
            let bytes = body
                .map_err(|_| ApiError::invalid_json("The request body could not be read."))?
                .to_bytes_limited(limit)
                .await
                .map_err(|_| ApiError::payload_too_large(limit))?
                .map_err(|_| ApiError::invalid_json("The request body could not be read."))?;
            parse_object(&bytes).map(JsonBody)
        })
    }
}

/// `application/json` or any `application/*+json`, with or without a charset.
fn is_json_content_type(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Parses a JSON object into `T`, naming the field of a type error without echoing its value.
fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid_json(format!(
            "The request body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid_json(
            "The request body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let expected = e
            .inner()
            .to_string()
            .split_once(", expected ")
            .map(|(_, what)| what.to_owned());
        let message = match expected {
            Some(expected) => format!(
                "`{}` has the wrong JSON type: expected {expected}.",
                e.path()
            ),
            None => format!("`{}` is not acceptable.", e.path()),
        };
        ApiError::invalid_json(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        name: Option<String>,
    }

    #[test]
    fn a_wrong_type_names_the_field_but_not_the_value() {
        let err = parse_object::<Sample>(br#"{"name": 123456789}"#).expect_err("wrong type");
        assert_eq!(err.code(), "invalid_json");
        let text = format!("{err:?}");
        assert!(
            text.contains("`name`") && text.contains("expected a string"),
            "{text}"
        );
        assert!(!text.contains("123456789"), "{text}");
    }

    #[test]
    fn arrays_scalars_and_garbage_are_invalid_json() {
        for body in [
            &b"[\"a\"]"[..],
            b"\"text\"",
            b"42",
            b"null",
            b"{",
            b"",
            b"\xff\xfe",
        ] {
            assert_eq!(
                parse_object::<Sample>(body).expect_err("refused").code(),
                "invalid_json"
            );
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowed() {
        let body = format!("{{\"name\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            parse_object::<Sample>(body.as_bytes())
                .expect_err("refused")
                .code(),
            "invalid_json"
        );
    }
}
