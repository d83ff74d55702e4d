//! The OpenAPI 3.1 document of the API, generated from the handlers' `#[utoipa::path]`s and the
//! DTOs' `ToSchema`s; served at `GET /openapi.json`. This module adds what the handlers share:
//! the error responses, the bearer scheme and the headers every response carries.

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, ObjectBuilder, RefOr, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorCode};
use crate::routes::{auth, docs, health};

/// The API's document (`ApiDoc::openapi()`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "patient-auth",
        description = "Registers patients, logs them in, issues JWT access tokens with refresh \
            tokens and serves each patient their own profile. Every error has the body \
            `{\"error\", \"message\", \"fields\"?}`; an unknown address is `404 not_found` and a \
            known one with another method `405 method_not_allowed` (with `Allow`).",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        health::health,
        health::ready,
        auth::register,
        auth::login,
        auth::me,
        auth::refresh,
        auth::logout,
        auth::logout_all,
        auth::change_password,
        auth::list_sessions,
        auth::end_session,
        docs::openapi_json,
        docs::swagger_ui,
    ),
    components(
        schemas(ErrorBody, ErrorCode),
        responses(
            InvalidJson,
            BearerRejected,
            InvalidCredentials,
            RefreshRejected,
            CredentialsOrBearerRejected,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            ValidationFailed,
            RateLimited,
            ServiceUnavailable,
            Internal,
        ),
    ),
    modifiers(&BearerScheme, &CommonHeaders),
    tags(
        (name = "auth", description = "Registration, login, tokens and the caller's profile."),
        (name = "sessions", description = "The caller's signed-in devices."),
        (name = "health", description = "Liveness and readiness probes."),
        (name = "docs", description = "This document and its interactive viewer."),
    ),
)]
pub struct ApiDoc;

/// The name of the bearer security scheme the protected operations require.
pub const BEARER: &str = "bearer";

/// Adds the JWT bearer scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `token` of a token response (HS256, valid `JWT_EXP_MINUTES`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds `X-Request-Id` and `Cache-Control` to every response, inline or shared.
struct CommonHeaders;

impl Modify for CommonHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let add = |response: &mut RefOr<Response>| {
            if let RefOr::T(response) = response {
                response.headers.insert(
                    "X-Request-Id".to_owned(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String).max_length(Some(128)))
                        .description(Some(
                            "The client's id when it sent a sane one (1–128 of `A-Z a-z 0-9 - _ . :`), \
                             else a new UUID.",
                        ))
                        .build(),
                );
                response.headers.insert(
                    "Cache-Control".to_owned(),
                    HeaderBuilder::new()
                        .schema(Object::with_type(Type::String))
                        .description(Some("`no-store`."))
                        .build(),
                );
            }
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                operation.responses.responses.values_mut().for_each(add);
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            components.responses.values_mut().for_each(add);
        }
    }
}

/// A shared error response: the error body with one example per code it can carry.
fn error_response(
    description: &str,
    examples: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> RefOr<Response> {
    let body = |code: &str, message: &str| {
        let mut body = json!({"error": code, "message": message});
        if code == "validation_failed" {
            body["fields"] = json!({"email": "is not a valid email address"});
        }
        body
    };
    let mut content = ContentBuilder::new().schema(Some(RefOr::Ref(
        utoipa::openapi::Ref::from_schema_name("ErrorBody"),
    )));
    if let [(code, message)] = examples {
        content = content.example(Some(body(code, message)));
    } else {
        content = content.examples_from_iter(examples.iter().map(|(code, message)| {
            (
                *code,
                ExampleBuilder::new()
                    .value(Some(body(code, message)))
                    .build(),
            )
        }));
    }
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content.build());
    for (name, description) in headers {
        let schema = if *name == "Retry-After" {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .build()
        } else {
            Object::with_type(Type::String)
        };
        response = response.header(
            *name,
            HeaderBuilder::new()
                .schema(schema)
                .description(Some(*description))
                .build(),
        );
    }
    response.into()
}

const WWW_AUTHENTICATE: (&str, &str) = (
    "WWW-Authenticate",
    "`Bearer`, or `Bearer error=\"invalid_token\", error_description=\"<code>\"` when a token was \
     presented.",
);

/// Declares a shared error response component.
macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $description:literal, [$(($code:literal, $message:literal)),+ $(,)?], [$($header:expr),* $(,)?];)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (
                        stringify!($name),
                        error_response($description, &[$(($code, $message)),+], &[$($header),*]),
                    )
                }
            }
        )+
    };
}

error_responses! {
    /// `400 invalid_json`.
    InvalidJson => "The body is not JSON, not an object, or a field has the wrong JSON type.",
        [("invalid_json", "`email` has the wrong JSON type: expected a string.")], [];
    /// `401` for a bearer token that is missing or not accepted.
    BearerRejected => "No bearer token, or one that is malformed, forged, expired or of an ended session.",
        [
            ("missing_token", "This route needs an `Authorization: Bearer <token>` header."),
            ("invalid_token", "The token is not valid."),
            ("token_expired", "The token has expired; refresh it or log in again."),
            ("token_revoked", "This session has ended; log in again."),
        ],
        [WWW_AUTHENTICATE];
    /// `401 invalid_credentials` of a login.
    InvalidCredentials => "Unknown account or wrong password (the same answer for both).",
        [("invalid_credentials", "The email, username or password is incorrect.")],
        [WWW_AUTHENTICATE];
    /// `401` of a refresh token that is not accepted.
    RefreshRejected => "The refresh token is unknown, consumed (theft: its session ends) or expired.",
        [
            ("invalid_token", "The token is not valid."),
            ("token_expired", "The token has expired; refresh it or log in again."),
            ("token_revoked", "This session has ended; log in again."),
        ],
        [WWW_AUTHENTICATE];
    /// `401` of a password change: the bearer token or the current password.
    CredentialsOrBearerRejected => "The bearer token is not accepted, or `current_password` is wrong.",
        [
            ("invalid_credentials", "The email, username or password is incorrect."),
            ("missing_token", "This route needs an `Authorization: Bearer <token>` header."),
            ("invalid_token", "The token is not valid."),
            ("token_expired", "The token has expired; refresh it or log in again."),
            ("token_revoked", "This session has ended; log in again."),
        ],
        [WWW_AUTHENTICATE];
    /// `404 not_found`.
    NotFound => "No such session of the caller (another patient's is indistinguishable).",
        [("not_found", "You have no open session with that id.")], [];
    /// `409` of a registration.
    Conflict => "The email address (in any case) or the username is already in use.",
        [
            ("email_taken", "An account with this email address already exists."),
            ("username_taken", "This username is already taken."),
        ],
        [];
    /// `413 payload_too_large`.
    PayloadTooLarge => "The body is larger than `MAX_BODY_BYTES` (16 KiB by default).",
        [("payload_too_large", "The request body is larger than 16384 bytes.")], [];
    /// `415 unsupported_media_type`.
    UnsupportedMediaType => "The body is not declared as JSON (`application/json` or `application/*+json`).",
        [("unsupported_media_type", "The request body must be JSON, sent with `Content-Type: application/json`.")],
        [];
    /// `422 validation_failed`.
    ValidationFailed => "Well-formed JSON whose fields break the rules; `fields` names each.",
        [("validation_failed", "Some fields are missing or invalid.")], [];
    /// `429 rate_limited`.
    RateLimited => "Too many attempts from this client address (`RATE_LIMIT_PER_MINUTE`), or too \
        many failed logins for this account from this address (`LOGIN_FAILURE_LIMIT`).",
        [("rate_limited", "Too many attempts. Try again in 42 seconds.")],
        [("Retry-After", "Seconds to wait before trying again.")];
    /// `503 service_unavailable`.
    ServiceUnavailable => "The database (or, for `/ready`, Redis) cannot be reached right now.",
        [("service_unavailable", "The service cannot reach its database right now. Try again shortly.")],
        [("Retry-After", "Seconds to wait before trying again.")];
    /// `500 internal`.
    Internal => "A bug; the message never says more.",
        [("internal", "An unexpected error occurred. It has been logged.")], [];
}
