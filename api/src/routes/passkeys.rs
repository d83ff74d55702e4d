//! `/auth/passkeys/*`: the caller's passkeys (WebAuthn) — adding, listing and removing them,
//! the options for a passkey as the fresh factor of a change — and signing in with one alone.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::dto::{
    MessageResponse, PasskeyAddedResponse, PasskeyCreationOptionsResponse, PasskeyLoginRequest,
    PasskeyOptionsRequest, PasskeyRegisterRequest, PasskeyRemoveRequest,
    PasskeyRequestOptionsResponse, PasskeyResponse, PasskeysResponse, TokenResponse,
};
use crate::error::ApiError;
use crate::guard::Authenticated;
use crate::json_body::JsonBody;
use crate::openapi::{
    BearerRejected, CredentialsOrBearerRejected, EmailNotVerified, Internal, InvalidJson,
    MfaConflict, MfaRateLimited, PasskeyConflict, PasskeyNotFound, PasskeyRejected,
    PayloadTooLarge, RateLimited, ServiceUnavailable, UnsupportedMediaType, ValidationFailed,
};
use crate::routes::auth::client_info;
use crate::routes::mfa::{counted, field_problem, proof, required};
use crate::routes::Operation;
use crate::state::AppState;

/// The passkey operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_list_passkeys>(|r| r.to(list_passkeys)),
        Operation::of::<__path_passkey_registration_options>(|r| {
            r.to(passkey_registration_options)
        }),
        Operation::of::<__path_register_passkey>(|r| r.to(register_passkey)),
        Operation::of::<__path_remove_passkey>(|r| r.to(remove_passkey)),
        Operation::of::<__path_passkey_assertion_options>(|r| r.to(passkey_assertion_options)),
        Operation::of::<__path_passkey_login_options>(|r| r.to(passkey_login_options)),
        Operation::of::<__path_passkey_login>(|r| r.to(passkey_login)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The caller's passkeys, oldest first.
#[utoipa::path(
    get,
    path = "/auth/passkeys",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's passkeys.", body = PasskeysResponse),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn list_passkeys(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let passkeys = state.auth.list_passkeys(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(PasskeysResponse {
        passkeys: passkeys.into_iter().map(PasskeyResponse::from).collect(),
    }))
}

/// Options for `navigator.credentials.create()` to make a new passkey, with the current
/// password; `passwordless` asks for one that also signs in alone.
#[utoipa::path(
    post,
    path = "/auth/passkeys/register/options",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = PasskeyOptionsRequest,
    responses(
        (status = 200, description = "For `navigator.credentials.create()`.", body = PasskeyCreationOptionsResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 409, response = PasskeyConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn passkey_registration_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<PasskeyOptionsRequest>,
) -> Result<HttpResponse, ApiError> {
    let password = required(body.password, "password")?;
    let passwordless = body.passwordless.unwrap_or(false);
    let attempt = state.limits.begin_second_factor(who.patient_id).await?;
    let client = client_info(&state, &req);
    let ceremony = state
        .auth
        .passkey_registration_options(&state.db, &who, password, passwordless, &client)
        .await;
    counted(&state, attempt, &ceremony).await;
    Ok(HttpResponse::Ok().json(PasskeyCreationOptionsResponse::from(ceremony?)))
}

/// Adds the passkey `navigator.credentials.create()` made from the options. The account's first
/// second factor also answers ten recovery codes, shown once.
#[utoipa::path(
    post,
    path = "/auth/passkeys/register",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = PasskeyRegisterRequest,
    responses(
        (status = 201, description = "The passkey is added.", body = PasskeyAddedResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = BearerRejected),
        (status = 409, response = PasskeyConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn register_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<PasskeyRegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let ceremony_token = required(body.ceremony_token, "ceremony_token")?;
    let credential = body
        .credential
        .ok_or_else(|| field_problem("credential", "is required"))?;
    let added = state
        .auth
        .register_passkey(
            &state.db,
            &who,
            &ceremony_token,
            body.name.as_deref(),
            &credential,
            &client_info(&state, &req),
        )
        .await?;
    Ok(HttpResponse::Created().json(PasskeyAddedResponse {
        passkey: added.passkey.into(),
        recovery_codes: added.recovery_codes,
    }))
}

/// Removes one of the caller's passkeys, with the password and a fresh second factor (the
/// recovery codes go with the account's last factor).
#[utoipa::path(
    post,
    path = "/auth/passkeys/remove",
    tag = "passkeys",
    security(("bearer" = [])),
    request_body = PasskeyRemoveRequest,
    responses(
        (status = 200, description = "The passkey is removed.", body = MessageResponse,
            example = json!({"message": "the passkey is removed"})),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 404, response = PasskeyNotFound),
        (status = 409, response = MfaConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn remove_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<PasskeyRemoveRequest>,
) -> Result<HttpResponse, ApiError> {
    let passkey_id = body
        .passkey_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| field_problem("passkey_id", "is required"))?;
    let password = required(body.password, "password")?;
    let proof = proof(body.code, body.recovery_code, body.passkey)?;
    let attempt = state.limits.begin_second_factor(who.patient_id).await?;
    let client = client_info(&state, &req);
    let outcome = state
        .auth
        .remove_passkey(&state.db, &who, &passkey_id, password, proof, &client)
        .await;
    counted(&state, attempt, &outcome).await;
    outcome?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "the passkey is removed",
    }))
}

/// Options for one of the caller's passkeys to answer as the fresh second factor of a change
/// (removing a factor, new recovery codes): the answer goes in that request's `passkey`.
#[utoipa::path(
    post,
    path = "/auth/passkeys/assertion-options",
    tag = "passkeys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "For `navigator.credentials.get()`.", body = PasskeyRequestOptionsResponse),
        (status = 401, response = BearerRejected),
        (status = 409, response = MfaConflict),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn passkey_assertion_options(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let ceremony = state.auth.fresh_passkey_options(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(PasskeyRequestOptionsResponse::from(ceremony)))
}

/// Options for signing in with a passkey alone: the browser offers the patient's passkeys for
/// this site that were added as `passwordless`.
#[utoipa::path(
    post,
    path = "/auth/passkeys/login/options",
    tag = "passkeys",
    responses(
        (status = 200, description = "For `navigator.credentials.get()`.", body = PasskeyRequestOptionsResponse),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn passkey_login_options(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ceremony = state.auth.passwordless_options(&state.db).await?;
    Ok(HttpResponse::Ok().json(PasskeyRequestOptionsResponse::from(ceremony)))
}

/// Signs in with a passkey alone (one added as `passwordless`): the token response, with
/// `amr` `["hwk", "mfa"]`.
#[utoipa::path(
    post,
    path = "/auth/passkeys/login",
    tag = "passkeys",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = PasskeyRejected),
        (status = 403, response = EmailNotVerified),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn passkey_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<PasskeyLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let ceremony_token = required(body.ceremony_token, "ceremony_token")?;
    let credential = body
        .credential
        .ok_or_else(|| field_problem("credential", "is required"))?;
    let grant = state
        .auth
        .passkey_login(
            &state.db,
            &ceremony_token,
            &credential,
            &client_info(&state, &req),
        )
        .await?;
    crate::access_log::note_patient(&req, grant.profile.patient.patient_id.into());
    Ok(HttpResponse::Ok().json(TokenResponse::from(grant)))
}
