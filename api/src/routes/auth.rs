//! `/auth/*`: register, login, me, logout. Handlers extract, call one service function, map.

use actix_web::http::header::USER_AGENT;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use service::{ClientInfo, Credentials, FieldErrors, LoginId, RegistrationForm, ServiceError};

use crate::access_log::note_patient;
use crate::dto::{
    ChangePasswordRequest, LoginRequest, MessageResponse, ProfileResponse, RefreshRequest,
    RegisterRequest, SessionResponse, SessionsResponse, TokenResponse,
};
use crate::error::ApiError;
use crate::guard::{Authenticated, BearerToken};
use crate::json_body::JsonBody;
use crate::request_id;
use crate::routes::resource;
use crate::state::AppState;

/// Registers the `/auth` routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/register", "POST").route(web::post().to(register)))
        .service(resource("/auth/login", "POST").route(web::post().to(login)))
        .service(resource("/auth/me", "GET").route(web::get().to(me)))
        .service(resource("/auth/logout", "POST").route(web::post().to(logout)))
        .service(resource("/auth/refresh", "POST").route(web::post().to(refresh)))
        .service(resource("/auth/logout-all", "POST").route(web::post().to(logout_all)))
        .service(resource("/auth/change-password", "POST").route(web::post().to(change_password)))
        .service(resource("/auth/sessions", "GET").route(web::get().to(list_sessions)))
        .service(
            resource("/auth/sessions/{session_id}", "DELETE").route(web::delete().to(end_session)),
        );
}

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

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let present =
        |value: Option<secrecy::SecretString>| value.filter(|v| !v.expose_secret().is_empty());
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

async fn list_sessions(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sessions = state.auth.sessions(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(SessionsResponse {
        sessions: sessions.into_iter().map(SessionResponse::from).collect(),
    }))
}

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

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let credentials = credentials(body)?;
    let client = client_info(&state, &req);
    let attempt = state
        .limits
        .begin_login(
            login_name(&credentials.login),
            state.client_ip.of_request(&req),
        )
        .await?;
    match state.auth.login(&state.db, credentials, &client).await {
        Ok(grant) => {
            state.limits.login_succeeded(attempt).await;
            note_patient(&req, grant.profile.patient.patient_id.into());
            Ok(HttpResponse::Ok().json(TokenResponse::from(grant)))
        }
        // Only a wrong password or unknown account counts against the account.
        Err(error @ ServiceError::InvalidCredentials) => Err(error.into()),
        Err(error) => {
            state.limits.login_succeeded(attempt).await;
            Err(error.into())
        }
    }
}

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

/// The user agent, the client's address (see [`crate::client_ip`]) and the request id, for
/// the session and the audit trail.
fn client_info(state: &AppState, req: &HttpRequest) -> ClientInfo {
    let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok());
    ClientInfo::new(
        user_agent,
        state.client_ip.of_request(req).map(|ip| ip.to_string()),
    )
    .with_request_id(&request_id::current())
}
