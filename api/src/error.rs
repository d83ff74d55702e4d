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

/// An error response of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<FieldErrors>,
    /// For 401s: whether a token was presented (the header then says `error="invalid_token"`).
    token_presented: bool,
}

/// The body of every error response, whatever produced it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// Machine-readable code; the status and code table of the contract.
    #[schema(value_type = crate::openapi::ErrorCode)]
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
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: None,
            token_presented: false,
        }
    }

    /// `400 invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// `401 missing_token`.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "This route needs an `Authorization: Bearer <token>` header.",
        )
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is nothing at this address.",
        )
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This address does not accept that method.",
        )
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// `415 unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON, sent with `Content-Type: application/json`.",
        )
    }

    /// `422 validation_failed` with the problems of each field.
    pub fn validation(fields: FieldErrors) -> Self {
        Self {
            fields: Some(fields),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are missing or invalid.",
            )
        }
    }

    /// `503 service_unavailable`.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service cannot reach its database right now. Try again shortly.",
        )
    }

    /// `500 internal`; the message never says what broke.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "An unexpected error occurred. It has been logged.",
        )
    }

    /// The machine-readable code, such as `invalid_token`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    fn with_token_presented(mut self) -> Self {
        self.token_presented = true;
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        use StatusCode as S;
        match error {
            ServiceError::Validation(fields) => Self::validation(fields),
            ServiceError::EmailTaken => Self::new(
                S::CONFLICT,
                "email_taken",
                "An account with this email address already exists.",
            ),
            ServiceError::UsernameTaken => Self::new(
                S::CONFLICT,
                "username_taken",
                "This username is already taken.",
            ),
            ServiceError::InvalidCredentials => Self::new(
                S::UNAUTHORIZED,
                "invalid_credentials",
                "The email, username or password is incorrect.",
            ),
            ServiceError::InvalidToken => {
                Self::new(S::UNAUTHORIZED, "invalid_token", "The token is not valid.")
                    .with_token_presented()
            }
            ServiceError::TokenExpired => Self::new(
                S::UNAUTHORIZED,
                "token_expired",
                "The token has expired; refresh it or log in again.",
            )
            .with_token_presented(),
            ServiceError::TokenRevoked => Self::new(
                S::UNAUTHORIZED,
                "token_revoked",
                "This session has ended; log in again.",
            )
            .with_token_presented(),
            ServiceError::PatientNotFound => Self::not_found(),
            ServiceError::SessionNotFound => Self::new(
                S::NOT_FOUND,
                "not_found",
                "You have no open session with that id.",
            ),
            ServiceError::ProfileNotEmpty => Self::new(
                S::CONFLICT,
                "profile_not_empty",
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
                    self.code
                )
            } else {
                "Bearer".to_owned()
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        response.json(ErrorBody {
            error: self.code,
            message: &self.message,
            fields: self.fields.as_ref(),
        })
    }
}
