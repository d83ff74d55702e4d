//! `ApiError`: the one place where anything that went wrong becomes a status, a code and a
//! message, in the contract's body `{"error", "message", "fields"?}`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use service::{FieldErrors, ServiceError};

use crate::request_id;

/// Seconds a client should wait before retrying after a `503`.
const RETRY_AFTER_SECONDS: u32 = 5;

/// Every `error` code the API answers: the contract's table, plus `cors_refused` for a browser
/// request from an origin `CORS_ORIGINS` does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: not JSON, not an object, or a field of the wrong JSON type.
    InvalidJson,
    /// 400: a password-reset or verification token that is unknown, used, superseded or expired.
    InvalidResetToken,
    /// 403: the right password, but the address is unverified and `REQUIRE_VERIFIED_EMAIL` is on.
    EmailNotVerified,
    /// 401: unknown account or wrong password.
    InvalidCredentials,
    /// 401: no bearer token.
    MissingToken,
    /// 401: malformed or forged token, unknown or consumed refresh token.
    InvalidToken,
    /// 401: the token's `exp` is past.
    TokenExpired,
    /// 401: the token's session has ended.
    TokenRevoked,
    /// 404: no such address or resource.
    NotFound,
    /// 405: the address exists, the method does not.
    MethodNotAllowed,
    /// 403: a cross-origin request from an origin, method or header not allowed.
    CorsRefused,
    /// 409: the email address is registered.
    EmailTaken,
    /// 409: the username is taken.
    UsernameTaken,
    /// 409: the patient already has profile data (operator commands only).
    ProfileNotEmpty,
    /// 409: authenticator-app codes are on already.
    MfaAlreadyEnabled,
    /// 409: no authenticator app is set up (or no factor is on).
    MfaNotSetUp,
    /// 409: the patient has as many passkeys as allowed.
    TooManyPasskeys,
    /// 409: the passkey is registered already.
    PasskeyAlreadyRegistered,
    /// 413: the body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 422: fields break the rules; `fields` says which.
    ValidationFailed,
    /// 429: too many attempts; see `Retry-After`.
    RateLimited,
    /// 503: the database (or Redis) cannot be reached; see `Retry-After`.
    ServiceUnavailable,
    /// 500: a bug; the message says nothing more.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in the body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidResetToken => "invalid_reset_token",
            Self::EmailNotVerified => "email_not_verified",
            Self::InvalidCredentials => "invalid_credentials",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::CorsRefused => "cors_refused",
            Self::EmailTaken => "email_taken",
            Self::UsernameTaken => "username_taken",
            Self::ProfileNotEmpty => "profile_not_empty",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaNotSetUp => "mfa_not_set_up",
            Self::TooManyPasskeys => "too_many_passkeys",
            Self::PasskeyAlreadyRegistered => "passkey_already_registered",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::RateLimited => "rate_limited",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal",
        }
    }
}

/// An error response of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    fields: Option<FieldErrors>,
    /// For 401s: whether a token was presented (the header then says `error="invalid_token"`).
    token_presented: bool,
    /// For 429s: seconds until another attempt can succeed.
    retry_after: Option<u64>,
}

/// The body of every error response, whatever produced it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Machine-readable code; the status and code table of the contract.
    #[schema(value_type = crate::error::ErrorCode)]
    pub error: &'a str,
    /// Text for a person; never internals (SQL, stack traces, secrets).
    #[schema(value_type = String, example = "Some fields are missing or invalid.")]
    pub message: &'a str,
    /// Only with `422 validation_failed`: the problem of each field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = BTreeMap<String, String>, example = json!({"email": "is not a valid email address"}))]
    pub fields: Option<&'a FieldErrors>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
            token_presented: false,
            retry_after: None,
        }
    }

    /// `400 invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson, message)
    }

    /// `401 missing_token`.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::MissingToken,
            "This route needs an `Authorization: Bearer <token>` header.",
        )
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "There is nothing at this address.",
        )
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "This address does not accept that method.",
        )
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// `415 unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "The request body must be JSON, sent with `Content-Type: application/json`.",
        )
    }

    /// `422 validation_failed` with the problems of each field.
    pub fn validation(fields: FieldErrors) -> Self {
        Self {
            fields: Some(fields),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                "Some fields are missing or invalid.",
            )
        }
    }

    /// `429 rate_limited`, retry after the given number of seconds.
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self {
            retry_after: Some(retry_after_seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("Too many attempts. Try again in {retry_after_seconds} seconds."),
            )
        }
    }

    /// `503 service_unavailable`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "The service cannot reach its database right now. Try again shortly.",
        )
    }

    /// `403 cors_refused`: a browser's cross-origin request this server does not allow.
    pub fn cors_refused(reason: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::CorsRefused, reason)
    }

    /// `503 service_unavailable` naming what cannot be reached.
    pub fn unavailable_because(message: &'static str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            message,
        )
    }

    /// `500 internal`; the message never says what broke.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "An unexpected error occurred. It has been logged.",
        )
    }

    /// The machine-readable code, such as `invalid_token`.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    fn with_token_presented(mut self) -> Self {
        self.token_presented = true;
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code.as_str())
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        use StatusCode as S;
        match error {
            ServiceError::Validation(fields) => Self::validation(fields),
            ServiceError::EmailTaken => Self::new(
                S::CONFLICT,
                ErrorCode::EmailTaken,
                "An account with this email address already exists.",
            ),
            ServiceError::UsernameTaken => Self::new(
                S::CONFLICT,
                ErrorCode::UsernameTaken,
                "This username is already taken.",
            ),
            ServiceError::InvalidCredentials => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "The email, username or password is incorrect.",
            ),
            ServiceError::SecondFactorRejected => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "That code, recovery code or passkey was not accepted: it is wrong or was used.",
            ),
            ServiceError::PasskeyRejected => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "This passkey cannot sign in here: it is not registered, not set to sign in alone, or its answer was not accepted.",
            ),
            ServiceError::InvalidToken => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "The token is not valid.",
            )
            .with_token_presented(),
            ServiceError::TokenExpired => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::TokenExpired,
                "The token has expired; refresh it or log in again.",
            )
            .with_token_presented(),
            ServiceError::TokenRevoked => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::TokenRevoked,
                "This session has ended; log in again.",
            )
            .with_token_presented(),
            ServiceError::InvalidResetToken => Self::new(
                S::BAD_REQUEST,
                ErrorCode::InvalidResetToken,
                "This link is not valid: it was used, replaced by a newer one, or has expired. Ask for a new one.",
            ),
            ServiceError::EmailNotVerified => Self::new(
                S::FORBIDDEN,
                ErrorCode::EmailNotVerified,
                "Confirm your email address first: follow the link we mailed you. Lost it? A password reset ('Forgot password?') mails a link that confirms the address too.",
            ),
            ServiceError::MfaAlreadyEnabled => Self::new(
                S::CONFLICT,
                ErrorCode::MfaAlreadyEnabled,
                "Authenticator-app codes are on already; turn them off first to set up another app.",
            ),
            ServiceError::MfaNotSetUp => Self::new(
                S::CONFLICT,
                ErrorCode::MfaNotSetUp,
                "That second factor is not set up for this account.",
            ),
            ServiceError::TooManyPasskeys => Self::new(
                S::CONFLICT,
                ErrorCode::TooManyPasskeys,
                "This account has as many passkeys as it may have; remove one first.",
            ),
            ServiceError::PasskeyTaken => Self::new(
                S::CONFLICT,
                ErrorCode::PasskeyAlreadyRegistered,
                "This passkey is registered already.",
            ),
            ServiceError::PasskeyNotFound => Self::new(
                S::NOT_FOUND,
                ErrorCode::NotFound,
                "You have no passkey with that id.",
            ),
            ServiceError::PatientNotFound => Self::not_found(),
            ServiceError::SessionNotFound => Self::new(
                S::NOT_FOUND,
                ErrorCode::NotFound,
                "You have no open session with that id.",
            ),
            ServiceError::ProfileNotEmpty => Self::new(
                S::CONFLICT,
                ErrorCode::ProfileNotEmpty,
                "The patient already has profile data.",
            ),
            ServiceError::Unavailable(cause) => {
                log::warn!(
                    "request {}: database unavailable: {cause}",
                    request_id::current()
                );
                Self::unavailable()
            }
            ServiceError::Internal(cause) => {
                log::error!("request {}: internal error: {cause}", request_id::current());
                Self::internal()
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.token_presented {
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.code.as_str()
                )
            } else {
                "Bearer".to_owned()
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        response.json(ErrorBody {
            error: self.code.as_str(),
            message: &self.message,
            fields: self.fields.as_ref(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_written_in_the_body_as_the_document_names_it() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::TokenRevoked,
            ErrorCode::CorsRefused,
            ErrorCode::RateLimited,
            ErrorCode::ServiceUnavailable,
        ] {
            assert_eq!(
                serde_json::to_value(code).expect("serialises"),
                serde_json::Value::from(code.as_str())
            );
        }
    }

    #[test]
    fn a_429_says_when_to_come_back() {
        let response = ApiError::rate_limited(42).error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("42")
        );
    }
}
