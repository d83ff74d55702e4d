//! `/auth/mfa/*`: the second factor — authenticator-app codes, recovery codes, and a passkey
//! as a login's second step.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use service::{FieldErrors, PasskeyAssertion, SecondFactorProof, ServiceError};

use crate::dto::{
    MessageResponse, MfaChangeRequest, MfaPasskeyOptionsRequest, MfaStatusResponse,
    MfaVerifyRequest, PasskeyAssertionBody, PasskeyRequestOptionsResponse, RecoveryCodesResponse,
    TokenResponse, TotpConfirmRequest, TotpSetupResponse,
};
use crate::error::ApiError;
use crate::guard::Authenticated;
use crate::json_body::JsonBody;
use crate::openapi::{
    BearerRejected, CredentialsOrBearerRejected, Internal, InvalidJson, MfaConflict,
    MfaRateLimited, MfaRejected, PayloadTooLarge, ServiceUnavailable, UnsupportedMediaType,
    ValidationFailed,
};
use crate::routes::auth::client_info;
use crate::routes::{present, Operation};
use crate::state::AppState;

/// The second-factor operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_status>(|r| r.to(status)),
        Operation::of::<__path_totp_setup>(|r| r.to(totp_setup)),
        Operation::of::<__path_totp_confirm>(|r| r.to(totp_confirm)),
        Operation::of::<__path_totp_disable>(|r| r.to(totp_disable)),
        Operation::of::<__path_regenerate_recovery_codes>(|r| r.to(regenerate_recovery_codes)),
        Operation::of::<__path_passkey_options>(|r| r.to(passkey_options)),
        Operation::of::<__path_verify>(|r| r.to(verify)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The caller's second factors.
#[utoipa::path(
    get,
    path = "/auth/mfa",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's second factors.", body = MfaStatusResponse),
        (status = 401, response = BearerRejected),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn status(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let status = state.auth.mfa_status(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(MfaStatusResponse {
        totp: status.totp,
        recovery_codes_left: status.recovery_codes_left,
        passkeys: status.passkeys,
    }))
}

/// A new secret for an authenticator app, with its `otpauth://` URI and QR code; codes are on
/// only after `confirm`.
#[utoipa::path(
    post,
    path = "/auth/mfa/totp/setup",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Set the app up with this (shown once).", body = TotpSetupResponse),
        (status = 401, response = BearerRejected),
        (status = 409, response = MfaConflict),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn totp_setup(
    state: web::Data<AppState>,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let setup = state.auth.totp_setup(&state.db, &who).await?;
    Ok(HttpResponse::Ok().json(TotpSetupResponse {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_svg: setup.qr_svg,
    }))
}

/// Turns codes on with one the app shows now; answers ten single-use recovery codes, shown once.
#[utoipa::path(
    post,
    path = "/auth/mfa/totp/confirm",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "Codes are on; keep these recovery codes.", body = RecoveryCodesResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 409, response = MfaConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn totp_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<TotpConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let code = required(body.code, "code")?;
    let attempt = state.limits.begin_second_factor(who.patient_id).await?;
    let codes = state
        .auth
        .totp_confirm(&state.db, &who, &code, &client_info(&state, &req))
        .await;
    counted(&state, attempt, &codes).await;
    Ok(HttpResponse::Ok().json(RecoveryCodesResponse {
        recovery_codes: codes?,
    }))
}

/// Turns codes off (and drops the recovery codes), with the password and a fresh second factor.
#[utoipa::path(
    post,
    path = "/auth/mfa/totp/disable",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = MfaChangeRequest,
    responses(
        (status = 200, description = "Codes are off.", body = MessageResponse,
            example = json!({"message": "authenticator-app codes are off"})),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 409, response = MfaConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn totp_disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<MfaChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (password, proof) = change(body)?;
    let attempt = state.limits.begin_second_factor(who.patient_id).await?;
    let outcome = state
        .auth
        .totp_disable(&state.db, &who, password, proof, &client_info(&state, &req))
        .await;
    counted(&state, attempt, &outcome).await;
    outcome?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "authenticator-app codes are off",
    }))
}

/// Ten new recovery codes (the old ones stop working), with the password and a fresh factor.
#[utoipa::path(
    post,
    path = "/auth/mfa/recovery-codes",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = MfaChangeRequest,
    responses(
        (status = 200, description = "New recovery codes, shown once.", body = RecoveryCodesResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = CredentialsOrBearerRejected),
        (status = 409, response = MfaConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
    JsonBody(body): JsonBody<MfaChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (password, proof) = change(body)?;
    let attempt = state.limits.begin_second_factor(who.patient_id).await?;
    let codes = state
        .auth
        .regenerate_recovery_codes(&state.db, &who, password, proof, &client_info(&state, &req))
        .await;
    counted(&state, attempt, &codes).await;
    Ok(HttpResponse::Ok().json(RecoveryCodesResponse {
        recovery_codes: codes?,
    }))
}

/// Options for a passkey to answer as a login's second step (the answer goes to
/// `POST /auth/mfa/verify` as `passkey`).
#[utoipa::path(
    post,
    path = "/auth/mfa/passkey/options",
    tag = "mfa",
    request_body = MfaPasskeyOptionsRequest,
    responses(
        (status = 200, description = "For `navigator.credentials.get()`.", body = PasskeyRequestOptionsResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = MfaRejected),
        (status = 409, response = MfaConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn passkey_options(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<MfaPasskeyOptionsRequest>,
) -> Result<HttpResponse, ApiError> {
    let mfa_token = required(body.mfa_token, "mfa_token")?;
    let ceremony = state
        .auth
        .second_step_passkey_options(&state.db, &mfa_token)
        .await?;
    Ok(HttpResponse::Ok().json(PasskeyRequestOptionsResponse::from(ceremony)))
}

/// Completes a login with its second factor: the `mfa_token` and a code, a recovery code or a
/// passkey's answer. A recovery code also ends every other session and mails the patient.
#[utoipa::path(
    post,
    path = "/auth/mfa/verify",
    tag = "mfa",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 400, response = InvalidJson),
        (status = 401, response = MfaRejected),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MfaRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<MfaVerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let mfa_token = required(body.mfa_token, "mfa_token")?;
    let proof = proof(body.code, body.recovery_code, body.passkey)?;
    let patient_id = state
        .auth
        .mfa_challenge_owner(&state.db, &mfa_token)
        .await?;
    let attempt = state.limits.begin_second_factor(patient_id).await?;
    let outcome = state
        .auth
        .complete_login(&state.db, &mfa_token, proof, &client_info(&state, &req))
        .await;
    counted(&state, attempt, &outcome).await;
    let grant = outcome?;
    crate::access_log::note_patient(&req, grant.profile.patient.patient_id.into());
    Ok(HttpResponse::Ok().json(TokenResponse::from(grant)))
}

/// Only a wrong factor counts against the account.
pub(crate) async fn counted<T>(
    state: &AppState,
    attempt: crate::rate_limit::LoginAttempt,
    outcome: &Result<T, ServiceError>,
) {
    if !matches!(
        outcome,
        Err(ServiceError::InvalidCredentials | ServiceError::SecondFactorRejected)
    ) {
        state.limits.login_succeeded(attempt).await;
    }
}

/// A secret field that was sent and is not empty, or a `422` naming it.
pub(crate) fn required(value: Option<SecretString>, field: &str) -> Result<SecretString, ApiError> {
    present(value).ok_or_else(|| field_problem(field, "is required"))
}

/// Exactly one of `code`, `recovery_code` and `passkey`.
pub(crate) fn proof(
    code: Option<SecretString>,
    recovery_code: Option<SecretString>,
    passkey: Option<PasskeyAssertionBody>,
) -> Result<SecondFactorProof, ApiError> {
    match (present(code), present(recovery_code), passkey) {
        (Some(code), None, None) => Ok(SecondFactorProof::Code(code)),
        (None, Some(code), None) => Ok(SecondFactorProof::RecoveryCode(code)),
        (None, None, Some(answer)) => Ok(SecondFactorProof::Passkey(passkey_answer(answer)?)),
        (None, None, None) => Err(field_problem(
            "code",
            "code, recovery_code or passkey is required",
        )),
        _ => Err(field_problem(
            "code",
            "give one of code, recovery_code and passkey, not more",
        )),
    }
}

/// A passkey's answer with both of its parts.
pub(crate) fn passkey_answer(answer: PasskeyAssertionBody) -> Result<PasskeyAssertion, ApiError> {
    let ceremony_token = required(answer.ceremony_token, "passkey.ceremony_token")?;
    let credential = answer
        .credential
        .ok_or_else(|| field_problem("passkey.credential", "is required"))?;
    Ok(PasskeyAssertion {
        ceremony_token,
        credential,
    })
}

/// A `422` naming one field.
pub(crate) fn field_problem(field: &str, problem: &str) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.add(field, problem);
    ApiError::validation(errors)
}

/// The password and one factor of a change to the factors.
fn change(body: MfaChangeRequest) -> Result<(SecretString, SecondFactorProof), ApiError> {
    let password = required(body.password, "password")?;
    Ok((
        password,
        proof(body.code, body.recovery_code, body.passkey)?,
    ))
}
