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
use crate::rate_limit::LimitedRoute;
use crate::routes::{auth, docs, health, mfa, passkeys, recovery};

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
        recovery::request_password_reset,
        recovery::confirm_password_reset,
        recovery::verify_email,
        recovery::resend_verification,
        mfa::status,
        mfa::totp_setup,
        mfa::totp_confirm,
        mfa::totp_disable,
        mfa::regenerate_recovery_codes,
        mfa::passkey_options,
        mfa::verify,
        passkeys::list_passkeys,
        passkeys::passkey_registration_options,
        passkeys::register_passkey,
        passkeys::remove_passkey,
        passkeys::passkey_assertion_options,
        passkeys::passkey_login_options,
        passkeys::passkey_login,
        docs::openapi_json,
        docs::swagger_ui,
    ),
    components(
        schemas(ErrorBody, ErrorCode),
        responses(
            InvalidJson,
            InvalidJsonOrResetToken,
            BearerRejected,
            InvalidCredentials,
            EmailNotVerified,
            MfaConflict,
            MfaRejected,
            PasskeyConflict,
            PasskeyNotFound,
            PasskeyRejected,
            RefreshRejected,
            CredentialsOrBearerRejected,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            ValidationFailed,
            RateLimited,
            MailRateLimited,
            MfaRateLimited,
            ServiceUnavailable,
            Internal,
        ),
    ),
    modifiers(&BearerScheme, &CommonHeaders, &Bounds, &PublicOperations, &RateLimitHeaders),
    tags(
        (name = "auth", description = "Registration, login, tokens and the caller's profile."),
        (name = "sessions", description = "The caller's signed-in devices."),
        (name = "recovery", description = "Password reset and email verification, through links \
            mailed to the patient (`PUBLIC_APP_URL/reset-password#token=…`, \
            `PUBLIC_APP_URL/verify-email#token=…`: the token is in the fragment, so it reaches no \
            server log)."),
        (name = "mfa", description = "The second factor: authenticator-app codes (RFC 6238), \
            recovery codes and passkeys. With a factor on, a login's right password answers \
            `mfa_required` and an `mfa_token` (5 minutes, once) for `POST /auth/mfa/verify`."),
        (name = "passkeys", description = "Passkeys (WebAuthn) for `WEBAUTHN_RP_ID`, used from \
            the pages of `WEBAUTHN_ORIGIN`: each ceremony is options (with a `ceremony_token`, 5 \
            minutes, once) for `navigator.credentials.create()` or `.get()`, then the \
            browser's answer. A passkey is a second factor; one added as `passwordless` also \
            signs in alone."),
        (name = "health", description = "Liveness and readiness probes."),
        (name = "docs", description = "This document and its interactive viewer."),
    ),
)]
pub struct ApiDoc;

/// The document as served: [`ApiDoc`] with `servers` naming `public_url` (`PUBLIC_API_URL`), or
/// the document's own origin.
pub fn served(public_url: Option<&str>) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let server = utoipa::openapi::server::ServerBuilder::new()
        .url(public_url.unwrap_or("/"))
        .description(Some(if public_url.is_some() {
            "Production: the public address (`PUBLIC_API_URL`)."
        } else {
            "Production or local: the origin this document is served from (set \
             `PUBLIC_API_URL` to name it)."
        }))
        // Patients' apps call it: not an internal API.
        .extensions(Some(
            utoipa::openapi::extensions::ExtensionsBuilder::new()
                .add("x-internal", false)
                .build(),
        ))
        .build();
    document.servers = Some(vec![server]);
    document
}

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
                        "The `token` of a token response: a JWT as RFC8725 (JSON Web Token Best \
                         Current Practices) asks. The server accepts HS256 only (`none` and every \
                         other algorithm are `invalid_token`), checks the signature, `iss`, `aud` \
                         and `exp` (with `JWT_LEEWAY_SECONDS` of leeway, 30 by default), and the \
                         token's session (`sid`) on every request. Valid `JWT_EXP_MINUTES`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every operation of the document.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Adds `X-Request-Id`, `Cache-Control` and `Access-Control-Allow-Origin` to every response,
/// inline or shared.
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
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(["no-store"])),
                        )
                        .description(Some("`no-store`."))
                        .build(),
                );
                response.headers.insert(
                    "Access-Control-Allow-Origin".to_owned(),
                    HeaderBuilder::new()
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .max_length(Some(limits::ORIGIN_MAX)),
                        )
                        .description(Some(
                            "The request's `Origin`, only when it is listed in `CORS_ORIGINS` \
                             (absent otherwise, and for requests without `Origin`).",
                        ))
                        .build(),
                );
            }
        };
        for operation in operations_mut(openapi) {
            operation.responses.responses.values_mut().for_each(add);
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
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int32,
                )))
                .minimum(Some(1))
                .maximum(Some(limits::RETRY_AFTER_MAX))
                .build()
        } else {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(limits::HEADER_MAX))
                .build()
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
    /// `400` of a mailed-link token: bad JSON, or a token that is not accepted.
    InvalidJsonOrResetToken => "The body is not JSON or has a field of the wrong type, or the token is unknown, used, superseded by a newer link, forged or expired (one code for all).",
        [
            ("invalid_json", "`token` has the wrong JSON type: expected a string."),
            ("invalid_reset_token", "This link is not valid: it was used, replaced by a newer one, or has expired. Ask for a new one."),
        ],
        [];
    /// `409` of a change to the second factor.
    MfaConflict => "Codes are on already (setup), or the factor asked for is not set up (confirm, disable, new recovery codes, passkey options without a passkey).",
        [
            ("mfa_already_enabled", "Authenticator-app codes are on already; turn them off first to set up another app."),
            ("mfa_not_set_up", "That second factor is not set up for this account."),
        ],
        [];
    /// `409` of adding a passkey.
    PasskeyConflict => "The account has as many passkeys as allowed (10), or this passkey is registered already (to this account or another).",
        [
            ("too_many_passkeys", "This account has as many passkeys as it may have; remove one first."),
            ("passkey_already_registered", "This passkey is registered already."),
        ],
        [];
    /// `401` of a sign-in with a passkey alone.
    PasskeyRejected => "The passkey is not registered, was added as a second factor only, or its answer is wrong (another origin or site, no user verification, a counter gone back); one code for all.",
        [("invalid_credentials", "This passkey cannot sign in here: it is not registered, not set to sign in alone, or its answer was not accepted.")],
        [WWW_AUTHENTICATE];
    /// `404` of removing a passkey.
    PasskeyNotFound => "No such passkey of the caller (another patient's is indistinguishable).",
        [("not_found", "You have no passkey with that id.")], [];
    /// `401` of a login's second step.
    MfaRejected => "The code, recovery code or passkey is wrong or used (`invalid_credentials`), or the `mfa_token` is unknown, used or expired (`invalid_token`).",
        [
            ("invalid_credentials", "That code, recovery code or passkey was not accepted: it is wrong or was used."),
            ("invalid_token", "The token is not valid."),
        ],
        [WWW_AUTHENTICATE];
    /// `403 email_not_verified` of a login.
    EmailNotVerified => "The password is right, but the address is not verified and `REQUIRE_VERIFIED_EMAIL` is on (never answered for a wrong password).",
        [("email_not_verified", "Confirm your email address first: follow the link we mailed you. Lost it? A password reset ('Forgot password?') mails a link that confirms the address too.")],
        [];
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
    CredentialsOrBearerRejected => "The bearer token is not accepted, or the password (`current_password`) is wrong, or the second factor given with it.",
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
    /// `429 rate_limited` of a mail request.
    MailRateLimited => "Too many mail requests from this client address, or for this address \
        (`PASSWORD_RESET_LIMIT` per `PASSWORD_RESET_WINDOW_SECONDS`), whether or not it has an account.",
        [("rate_limited", "Too many attempts. Try again in 1800 seconds.")],
        [("Retry-After", "Seconds to wait before trying again.")];
    /// `429 rate_limited` of a second-factor operation.
    MfaRateLimited => "Too many attempts from this client address (`RATE_LIMIT_PER_MINUTE`), or \
        too many wrong second factors for this account from anywhere (`MFA_FAILURE_LIMIT` per \
        `MFA_FAILURE_WINDOW_SECONDS`; shared by verify, confirm, disable and new recovery codes).",
        [("rate_limited", "Too many attempts. Try again in 600 seconds.")],
        [("Retry-After", "Seconds to wait before trying again.")];
    /// `503 service_unavailable`.
    ServiceUnavailable => "The database (or, for `/ready`, Redis) cannot be reached right now.",
        [("service_unavailable", "The service cannot reach its database right now. Try again shortly.")],
        [("Retry-After", "Seconds to wait before trying again.")];
    /// `500 internal`.
    Internal => "A bug; the message never says more.",
        [("internal", "An unexpected error occurred. It has been logged.")], [];
}

/// The limits the document states: the service's ([`service::limits`]) and the HTTP layer's.
mod limits {
    pub use service::limits::*;

    /// The default `MAX_BODY_BYTES`: what bounds a field the service itself does not measure.
    pub const BODY_MAX: usize = 16_384;
    /// Longest browser origin accepted in `CORS_ORIGINS`.
    pub const ORIGIN_MAX: usize = 2_048;
    /// Longest value of the other documented response headers.
    pub const HEADER_MAX: usize = 1_024;
    /// Longest `Retry-After`: the longest window (`LOGIN_FAILURE_WINDOW_SECONDS` is at most a day).
    pub const RETRY_AFTER_MAX: i64 = 86_400;
    /// Longest error message or field complaint the server writes.
    pub const MESSAGE_MAX: usize = 500;
    /// Longest field name a `422` names.
    pub const FIELD_NAME_MAX: usize = 64;
    /// Longest `RateLimit`/`RateLimit-Policy` value.
    pub const RATE_LIMIT_HEADER_MAX: usize = 64;
    /// Longest `/docs` page (Swagger UI's index with our `<base>`).
    pub const DOCS_PAGE_MAX: usize = 8_192;
}

/// A string bound: schema, property, longest (and shortest, where the server checks one).
type StringBound = (&'static str, &'static str, usize, Option<usize>);

/// Every string property of the document and its bound.
const STRING_BOUNDS: &[StringBound] = &[
    ("RegisterRequest", "name", limits::NAME_MAX, Some(1)),
    ("RegisterRequest", "email", limits::EMAIL_MAX, None),
    (
        "RegisterRequest",
        "password",
        limits::PASSWORD_MAX,
        Some(limits::PASSWORD_MIN),
    ),
    (
        "RegisterRequest",
        "username",
        limits::USERNAME_MAX,
        Some(limits::USERNAME_MIN),
    ),
    ("LoginRequest", "email", limits::EMAIL_MAX, None),
    ("PasswordResetRequest", "email", limits::EMAIL_MAX, None),
    (
        "PasswordResetConfirmRequest",
        "token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    (
        "PasswordResetConfirmRequest",
        "new_password",
        limits::PASSWORD_MAX,
        Some(limits::PASSWORD_MIN),
    ),
    (
        "VerifyEmailRequest",
        "token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    ("LoginRequest", "username", limits::USERNAME_MAX, None),
    ("LoginRequest", "password", limits::BODY_MAX, Some(1)),
    (
        "RefreshRequest",
        "refresh_token",
        limits::REFRESH_TOKEN_INPUT_MAX,
        None,
    ),
    (
        "ChangePasswordRequest",
        "current_password",
        limits::BODY_MAX,
        None,
    ),
    (
        "ChangePasswordRequest",
        "new_password",
        limits::PASSWORD_MAX,
        Some(limits::PASSWORD_MIN),
    ),
    ("TokenResponse", "token", limits::ACCESS_TOKEN_MAX, None),
    ("TokenResponse", "token_type", 6, Some(6)),
    (
        "TokenResponse",
        "refresh_token",
        limits::REFRESH_TOKEN_LEN,
        Some(limits::REFRESH_TOKEN_LEN),
    ),
    ("ProfileResponse", "username", limits::USERNAME_MAX, None),
    ("ProfileResponse", "name", limits::NAME_MAX, None),
    ("ProfileResponse", "email", limits::EMAIL_MAX, None),
    ("ProfileResponse", "phone", limits::PHONE_MAX, None),
    ("ProfileResponse", "date_of_birth", limits::DATE_LEN, None),
    ("ProfileResponse", "created_at", limits::TIMESTAMP_LEN, None),
    ("DoctorResponse", "name", limits::NAME_MAX, None),
    ("DoctorResponse", "specialty", limits::SPECIALTY_MAX, None),
    ("DoctorResponse", "email", limits::EMAIL_MAX, None),
    ("DoctorResponse", "phone", limits::PHONE_MAX, None),
    ("CaregiverResponse", "name", limits::NAME_MAX, None),
    (
        "CaregiverResponse",
        "relationship",
        limits::RELATIONSHIP_MAX,
        None,
    ),
    ("CaregiverResponse", "email", limits::EMAIL_MAX, None),
    ("CaregiverResponse", "phone", limits::PHONE_MAX, None),
    (
        "PrescriptionResponse",
        "medication",
        limits::MEDICATION_MAX,
        None,
    ),
    ("PrescriptionResponse", "dosage", limits::DOSAGE_MAX, None),
    (
        "PrescriptionResponse",
        "frequency",
        limits::DOSAGE_MAX,
        None,
    ),
    ("PrescriptionResponse", "start_date", limits::DATE_LEN, None),
    ("PrescriptionResponse", "end_date", limits::DATE_LEN, None),
    (
        "SessionResponse",
        "session_id",
        limits::SESSION_ID_LEN,
        None,
    ),
    ("SessionResponse", "created_at", limits::TIMESTAMP_LEN, None),
    (
        "SessionResponse",
        "last_used_at",
        limits::TIMESTAMP_LEN,
        None,
    ),
    ("SessionResponse", "expires_at", limits::TIMESTAMP_LEN, None),
    (
        "SessionResponse",
        "user_agent",
        limits::USER_AGENT_MAX,
        None,
    ),
    ("SessionResponse", "ip", limits::IP_MAX, None),
    ("MessageResponse", "message", limits::MESSAGE_MAX, None),
    ("StatusResponse", "status", 16, None),
    ("ErrorBody", "message", limits::MESSAGE_MAX, None),
    (
        "MfaVerifyRequest",
        "mfa_token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    ("MfaVerifyRequest", "code", limits::MFA_CODE_INPUT_MAX, None),
    (
        "MfaVerifyRequest",
        "recovery_code",
        limits::RECOVERY_CODE_INPUT_MAX,
        None,
    ),
    ("MfaChangeRequest", "password", limits::BODY_MAX, Some(1)),
    ("MfaChangeRequest", "code", limits::MFA_CODE_INPUT_MAX, None),
    (
        "MfaChangeRequest",
        "recovery_code",
        limits::RECOVERY_CODE_INPUT_MAX,
        None,
    ),
    (
        "TotpConfirmRequest",
        "code",
        limits::MFA_CODE_INPUT_MAX,
        Some(1),
    ),
    (
        "MfaRequiredResponse",
        "mfa_token",
        limits::ACCOUNT_TOKEN_LEN,
        Some(limits::ACCOUNT_TOKEN_LEN),
    ),
    (
        "TotpSetupResponse",
        "secret",
        limits::TOTP_SECRET_LEN,
        Some(limits::TOTP_SECRET_LEN),
    ),
    (
        "TotpSetupResponse",
        "otpauth_uri",
        limits::OTPAUTH_URI_MAX,
        None,
    ),
    ("TotpSetupResponse", "qr_svg", limits::QR_SVG_MAX, None),
    (
        "MfaPasskeyOptionsRequest",
        "mfa_token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    (
        "PasskeyOptionsRequest",
        "password",
        limits::BODY_MAX,
        Some(1),
    ),
    (
        "PasskeyCreationOptionsResponse",
        "ceremony_token",
        limits::ACCOUNT_TOKEN_LEN,
        Some(limits::ACCOUNT_TOKEN_LEN),
    ),
    (
        "PasskeyRequestOptionsResponse",
        "ceremony_token",
        limits::ACCOUNT_TOKEN_LEN,
        Some(limits::ACCOUNT_TOKEN_LEN),
    ),
    (
        "PasskeyAssertionBody",
        "ceremony_token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    (
        "PasskeyRegisterRequest",
        "ceremony_token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    (
        "PasskeyRegisterRequest",
        "name",
        limits::PASSKEY_NAME_MAX,
        None,
    ),
    (
        "PasskeyLoginRequest",
        "ceremony_token",
        limits::ACCOUNT_TOKEN_INPUT_MAX,
        Some(1),
    ),
    (
        "PasskeyResponse",
        "id",
        limits::PASSKEY_ID_LEN,
        Some(limits::PASSKEY_ID_LEN),
    ),
    ("PasskeyResponse", "name", limits::PASSKEY_NAME_MAX, Some(1)),
    ("PasskeyResponse", "created_at", limits::TIMESTAMP_LEN, None),
    (
        "PasskeyResponse",
        "last_used_at",
        limits::TIMESTAMP_LEN,
        None,
    ),
    (
        "PasskeyRemoveRequest",
        "passkey_id",
        limits::PASSKEY_ID_INPUT_MAX,
        Some(1),
    ),
    (
        "PasskeyRemoveRequest",
        "password",
        limits::BODY_MAX,
        Some(1),
    ),
    (
        "PasskeyRemoveRequest",
        "code",
        limits::MFA_CODE_INPUT_MAX,
        None,
    ),
    (
        "PasskeyRemoveRequest",
        "recovery_code",
        limits::RECOVERY_CODE_INPUT_MAX,
        None,
    ),
];

/// Every array property of the document: most items, and longest item.
const ARRAY_BOUNDS: &[(&str, &str, usize, usize)] = &[
    ("MfaRequiredResponse", "methods", 3, 16),
    (
        "RecoveryCodesResponse",
        "recovery_codes",
        limits::RECOVERY_CODE_COUNT,
        limits::RECOVERY_CODE_LEN,
    ),
    ("SessionResponse", "amr", 4, 8),
    (
        "PasskeysResponse",
        "passkeys",
        limits::PASSKEYS_PER_PATIENT as usize,
        0,
    ),
    (
        "PasskeyAddedResponse",
        "recovery_codes",
        limits::RECOVERY_CODE_COUNT,
        limits::RECOVERY_CODE_LEN,
    ),
];

/// The WebAuthn objects, passed through as the browser makes them: any members, named briefly.
const OPEN_OBJECTS: &[(&str, &str)] = &[
    ("PasskeyAssertionBody", "credential"),
    ("PasskeyRegisterRequest", "credential"),
    ("PasskeyLoginRequest", "credential"),
    ("PasskeyCreationOptionsResponse", "options"),
    ("PasskeyRequestOptionsResponse", "options"),
];

/// Longest member name of a WebAuthn object (`clientExtensionResults` is 22).
const OPEN_OBJECT_KEY_MAX: usize = 64;

/// Every id property: 32-bit keys from 1.
const ID_PROPERTIES: &[(&str, &str)] = &[
    ("ProfileResponse", "patient_id"),
    ("DoctorResponse", "doctor_id"),
    ("CaregiverResponse", "caregiver_id"),
    ("PrescriptionResponse", "prescription_id"),
    ("PrescriptionResponse", "doctor_id"),
];

fn property<'a>(
    openapi: &'a mut utoipa::openapi::OpenApi,
    schema: &str,
    name: &str,
) -> Option<&'a mut Object> {
    use utoipa::openapi::schema::Schema;
    let components = openapi.components.as_mut()?;
    let RefOr::T(Schema::Object(object)) = components.schemas.get_mut(schema)? else {
        return None;
    };
    match object.properties.get_mut(name)? {
        RefOr::T(Schema::Object(property)) => Some(property),
        _ => None,
    }
}

fn array_property<'a>(
    openapi: &'a mut utoipa::openapi::OpenApi,
    schema: &str,
    name: &str,
) -> Option<&'a mut utoipa::openapi::schema::Array> {
    use utoipa::openapi::schema::Schema;
    let components = openapi.components.as_mut()?;
    let RefOr::T(Schema::Object(object)) = components.schemas.get_mut(schema)? else {
        return None;
    };
    match object.properties.get_mut(name)? {
        RefOr::T(Schema::Array(array)) => Some(array),
        _ => None,
    }
}

/// States the bounds above on the schemas, from the constants the validation checks.
struct Bounds;

impl Modify for Bounds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        for (schema, name, max, min) in STRING_BOUNDS {
            if let Some(property) = property(openapi, schema, name) {
                property.max_length = Some(*max);
                if min.is_some() {
                    property.min_length = *min;
                }
            }
        }
        for (schema, name, most, longest) in ARRAY_BOUNDS {
            if let Some(array) = array_property(openapi, schema, name) {
                array.max_items = Some(*most);
                if let utoipa::openapi::schema::ArrayItems::RefOrSchema(item) = &mut array.items {
                    if let RefOr::T(Schema::Object(item)) = item.as_mut() {
                        item.max_length = Some(*longest);
                    }
                }
            }
        }
        if let Some(left) = property(openapi, "MfaStatusResponse", "recovery_codes_left") {
            left.minimum = Some(0.into());
            left.maximum = Some(limits::RECOVERY_CODE_COUNT.into());
        }
        for (schema, name) in OPEN_OBJECTS {
            if let Some(object) = property(openapi, schema, name) {
                let key = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(OPEN_OBJECT_KEY_MAX))
                    .build();
                object.property_names = Some(Box::new(key.into()));
            }
        }
        if let Some(passkeys) = property(openapi, "MfaStatusResponse", "passkeys") {
            passkeys.minimum = Some(0.into());
            passkeys.maximum = Some(limits::PASSKEYS_PER_PATIENT.into());
        }
        if let Some(username) = property(openapi, "RegisterRequest", "username") {
            username.pattern = Some(limits::USERNAME_PATTERN.to_owned());
        }
        for (schema, name) in ID_PROPERTIES {
            if let Some(property) = property(openapi, schema, name) {
                property.minimum = Some(1.into());
                property.maximum = Some(limits::ID_MAX.into());
            }
        }
        if let Some(property) = property(openapi, "TokenResponse", "expires_in") {
            let (shortest, longest) = limits::TOKEN_LIFETIME_SECONDS;
            property.minimum = Some(shortest.into());
            property.maximum = Some(longest.into());
        }
        if let Some(operation) = openapi
            .paths
            .paths
            .get_mut("/auth/sessions/{session_id}")
            .and_then(|item| item.delete.as_mut())
        {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() {
                    schema.max_length = Some(limits::SESSION_ID_LEN);
                }
            }
        }
        if let Some(RefOr::T(page)) = openapi
            .paths
            .paths
            .get_mut("/docs")
            .and_then(|item| item.get.as_mut())
            .and_then(|operation| operation.responses.responses.get_mut("200"))
        {
            for header in page.headers.values_mut() {
                if let RefOr::T(Schema::Object(schema)) = &mut header.schema {
                    schema.max_length = Some(limits::HEADER_MAX);
                }
            }
            for content in page.content.values_mut() {
                if let Some(RefOr::T(Schema::Object(schema))) = content.schema.as_mut() {
                    schema.max_length = Some(limits::DOCS_PAGE_MAX);
                }
            }
        }
        // The complaints of a 422: field name → what is wrong.
        if let Some(fields) = property(openapi, "ErrorBody", "fields") {
            fields.property_names = Some(Box::new(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(limits::FIELD_NAME_MAX))
                    .build(),
            )));
            fields.additional_properties = Some(Box::new(
                utoipa::openapi::schema::AdditionalProperties::RefOr(RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(limits::MESSAGE_MAX))
                        .build(),
                ))),
            ));
        }
    }
}

/// Operations without the bearer scheme are public on purpose, and say so (`security: []`).
struct PublicOperations;

impl Modify for PublicOperations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for operation in operations_mut(openapi) {
            if operation.security.as_ref().is_none_or(Vec::is_empty) {
                operation.security = Some(Vec::new());
            }
        }
    }
}

/// Gives the limited operations their `RateLimit-Policy` and `RateLimit` headers on every 2xx
/// and 4xx answer (shared responses are copied into the operation first, so that operations
/// without a limit do not claim one).
struct RateLimitHeaders;

impl Modify for RateLimitHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let shared = openapi
            .components
            .as_ref()
            .map(|c| c.responses.clone())
            .unwrap_or_default();
        let header = |description: &str| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(limits::RATE_LIMIT_HEADER_MAX)),
                )
                .description(Some(description))
                .build()
        };
        for route in LimitedRoute::ALL {
            // Every limited route is a POST (`LimitedRoute::of`).
            let Some(operation) = openapi
                .paths
                .paths
                .get_mut(route.path())
                .and_then(|item| item.post.as_mut())
            else {
                continue;
            };
            for (status, response) in operation.responses.responses.iter_mut() {
                if !(status.starts_with('2') || status.starts_with('4')) {
                    continue;
                }
                if let RefOr::Ref(reference) = response {
                    let name = reference
                        .ref_location
                        .rsplit('/')
                        .next()
                        .unwrap_or_default();
                    if let Some(RefOr::T(copy)) = shared.get(name) {
                        *response = RefOr::T(copy.clone());
                    }
                }
                if let RefOr::T(response) = response {
                    response.headers.insert(
                        "RateLimit-Policy".to_owned(),
                        header(
                            "`\"per-client\";q=<attempts>;w=60`: `RATE_LIMIT_PER_MINUTE` attempts \
                             a minute per client address (IETF httpapi RateLimit draft). Absent \
                             when limits are off.",
                        ),
                    );
                    response.headers.insert(
                        "RateLimit".to_owned(),
                        header(
                            "`\"per-client\";r=<left>;t=<seconds>`: attempts left in this window \
                             and seconds until it starts again. Absent when limits are off.",
                        ),
                    );
                }
            }
        }
    }
}
