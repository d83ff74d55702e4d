//! `/auth/*`: register, login, me, logout. Handlers extract, call one service function, map.

use std::net::IpAddr;

use actix_web::http::header::{ACCEPT_LANGUAGE, USER_AGENT};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use service::mail::Language;
use service::{
    ClientInfo, Credentials, FieldErrors, LoginId, LoginOutcome, RegistrationForm, ServiceError,
};

use crate::access_log::note_patient;
use crate::dto::{
    ChangePasswordRequest, LoginRequest, LoginResponse, MessageResponse, MfaRequiredResponse,
    ProfileResponse, RefreshRequest, RegisterRequest, SessionResponse, SessionsResponse,
    TokenResponse,
};
use crate::error::ApiError;
use crate::guard::{Authenticated, BearerToken};
use crate::json_body::JsonBody;
use crate::openapi::{
    BearerRejected, Conflict, CredentialsOrBearerRejected, EmailNotVerified, Internal,
    InvalidCredentials, InvalidJson, NotFound, PayloadTooLarge, RateLimited, RefreshRejected,
    ServiceUnavailable, UnsupportedMediaType, ValidationFailed,
};
use crate::request_id;
use crate::routes::{present, Operation};
use crate::state::AppState;

/// The `/auth` operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_register>(|r| r.to(register)),
        Operation::of::<__path_login>(|r| r.to(login)),
        Operation::of::<__path_me>(|r| r.to(me)),
        Operation::of::<__path_refresh>(|r| r.to(refresh)),
        Operation::of::<__path_logout>(|r| r.to(logout)),
        Operation::of::<__path_logout_all>(|r| r.to(logout_all)),
        Operation::of::<__path_change_password>(|r| r.to(change_password)),
        Operation::of::<__path_list_sessions>(|r| r.to(list_sessions)),
        Operation::of::<__path_end_session>(|r| r.to(end_session)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Trades a refresh token for a new access token and a new refresh token; the old one is
/// consumed, and presenting it again later ends the session (theft).
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = RefreshRejected),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(refresh_token) = body.refresh_token else {
        let mut errors = FieldErrors::default();
        errors.add("refresh_token", "is required");
        return Err(ApiError::validation(errors));
    };
    let grant = state
        .auth
        .refresh(&state.db, &refresh_token, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(grant)))
}

/// Ends every session of the patient: all their access and refresh tokens stop working.
#[utoipa::path(
    post,
    path = "/auth/logout-all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every session ended.", body = MessageResponse,
            example = json!({"message": "logged out of every session"})),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn logout_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .logout_all(&state.db, &who, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "logged out of every session",
    }))
}

/// Changes the password: checks the current one, applies the registration rules to the new one,
/// ends every other session and answers a fresh token pair for this one.
#[utoipa::path(
    post,
    path = "/auth/change-password",
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; a fresh token pair.", body = TokenResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let (current, new) = match (present(body.current_password), present(body.new_password)) {
        (Some(current), Some(new)) => (current, new),
        (current, new) => {
            let mut errors = FieldErrors::default();
            if current.is_none() {
                errors.add("current_password", "is required");
            }
            if new.is_none() {
                errors.add("new_password", "is required");
            }
            return Err(ApiError::validation(errors));
        }
    };
    let grant = state
        .auth
        .change_password(&state.db, &who, current, new, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(grant)))
}

/// The patient's open sessions, newest first ("where you are signed in").
#[utoipa::path(
    get,
    path = "/auth/sessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open sessions, newest first.", body = SessionsResponse),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn list_sessions(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sessions = state.auth.sessions(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(SessionsResponse {
        sessions: sessions.into_iter().map(SessionResponse::from).collect(),
    }))
}

/// Ends one of the patient's sessions; its access and refresh tokens stop working at once.
#[utoipa::path(
    delete,
    path = "/auth/sessions/{session_id}",
    tag = "sessions",
    security(("bearer" = [])),
    params(("session_id" = String, Path, description = "A `session_id` from `GET /auth/sessions`.")),
    responses(
        (status = 200, description = "The session ended.", body = MessageResponse,
            example = json!({"message": "session ended"})),
        (status = 401, response = BearerRejected),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .end_session(
            &state.db,
            &who,
            &path.into_inner(),
            &client_info(&state, &req),
        )
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "session ended",
    }))
}

/// Registers a patient and signs them in (a new session).
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered; the token response carries the new profile.",
            body = TokenResponse),
        (status = 400, response = InvalidJson),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let form = RegistrationForm {
        name: body.name,
        email: body.email,
        password: body.password,
        username: body.username,
    };
    let grant = state
        .auth
        .register(&state.db, form, &client_info(&state, &req))
        .await?;
    note_patient(&req, grant.profile.patient.patient_id.into());
    Ok(HttpResponse::Created().json(TokenResponse::from(grant)))
}

/// Logs in with `email` (or `username`) and password: a new session. An unknown account and a
/// wrong password are indistinguishable.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in (the token response), or, with a second factor \
            on, the second step (`mfa_required`).", body = LoginResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = InvalidCredentials),
        (status = 403, response = EmailNotVerified),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let credentials = credentials(body)?;
    let address = state.client_ip.of_request(&req);
    let client = client_info_from(address, &req);
    let attempt = state
        .limits
        .begin_login(login_name(&credentials.login), address)
        .await?;
    match state.auth.login(&state.db, credentials, &client).await {
        Ok(outcome) => {
            state.limits.login_succeeded(attempt).await;
            Ok(login_answer(&req, outcome))
        }
        // Only a wrong password or unknown account counts against the account.
        Err(error @ ServiceError::InvalidCredentials) => Err(error.into()),
        Err(error) => {
            state.limits.login_succeeded(attempt).await;
            Err(error.into())
        }
    }
}

/// The caller's profile: doctor, caregiver and prescriptions (newest `start_date` first).
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile.", body = ProfileResponse),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn me(
    state: web::Data<AppState>,
    req: HttpRequest,
    BearerToken(token): BearerToken,
) -> Result<HttpResponse, ApiError> {
    let profile = state
        .auth
        .profile_for_token(&state.db, token.expose_secret(), &client_info(&state, &req))
        .await?;
    note_patient(&req, profile.patient.patient_id.into());
    Ok(HttpResponse::Ok().json(ProfileResponse::from(profile)))
}

/// Ends the caller's session: its access and refresh tokens stop working on every instance.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out.", body = MessageResponse,
            example = json!({"message": "logged out"})),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .logout(&state.db, &who, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "logged out",
    }))
}

/// The answer of a login whose password was right: the token response, or the second step.
pub(crate) fn login_answer(req: &HttpRequest, outcome: LoginOutcome) -> HttpResponse {
    let body = match outcome {
        LoginOutcome::Granted(grant) => {
            note_patient(req, grant.profile.patient.patient_id.into());
            LoginResponse::Tokens(Box::new(TokenResponse::from(*grant)))
        }
        LoginOutcome::SecondFactorRequired(challenge) => {
            LoginResponse::SecondFactor(MfaRequiredResponse::from(challenge))
        }
    };
    HttpResponse::Ok().json(body)
}

/// `email` wins over `username`, as in the Flask backend; blank values count as missing.
fn credentials(body: LoginRequest) -> Result<Credentials, ApiError> {
    let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let login = match (present(body.email), present(body.username)) {
        (Some(email), _) => Some(LoginId::Email(email)),
        (None, Some(username)) => Some(LoginId::Username(username)),
        (None, None) => None,
    };
    let password = body.password.filter(|p| !p.expose_secret().is_empty());
    let mut errors = FieldErrors::default();
    if login.is_none() {
        errors.add("email", "email or username is required");
    }
    if password.is_none() {
        errors.add("password", "is required");
    }
    match (login, password) {
        (Some(login), Some(password)) => Ok(Credentials { login, password }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// What the patient typed to name their account.
fn login_name(login: &LoginId) -> &str {
    match login {
        LoginId::Email(name) | LoginId::Username(name) => name,
    }
}

/// The user agent, the client's address (see [`crate::client_ip`]), the request id and the
/// language it reads, for the session, the audit trail and the messages it causes.
pub(crate) fn client_info(state: &AppState, req: &HttpRequest) -> ClientInfo {
    client_info_from(state.client_ip.of_request(req), req)
}

/// [`client_info`] for a client address already worked out.
pub(crate) fn client_info_from(address: Option<IpAddr>, req: &HttpRequest) -> ClientInfo {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    ClientInfo::new(header(USER_AGENT), address.map(|ip| ip.to_string()))
        .with_request_id(&request_id::current())
        .with_language(Language::from_accept_language(header(ACCEPT_LANGUAGE)))
}
