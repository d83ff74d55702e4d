//! `/auth/password-reset/*` and `/auth/verify-email*`: the links mailed to a patient.

use actix_web::{web, HttpRequest, HttpResponse};
use service::validation::parse_email;
use service::{FieldErrors, VerificationRequest};

use crate::dto::{
    LoginResponse, MessageResponse, PasswordResetConfirmRequest, PasswordResetRequest,
    VerifyEmailRequest,
};
use crate::error::ApiError;
use crate::guard::Authenticated;
use crate::json_body::JsonBody;
use crate::openapi::{
    BearerRejected, Internal, InvalidJson, InvalidJsonOrResetToken, MailRateLimited,
    PayloadTooLarge, RateLimited, ServiceUnavailable, UnsupportedMediaType, ValidationFailed,
};
use crate::rate_limit::MailRequest;
use crate::routes::auth::{client_info, login_answer};
use crate::routes::{present, Operation};
use crate::state::AppState;

/// The recovery and verification operations.
pub fn operations() -> Vec<Operation> {
    [
        Operation::of::<__path_request_password_reset>(|r| r.to(request_password_reset)),
        Operation::of::<__path_confirm_password_reset>(|r| r.to(confirm_password_reset)),
        Operation::of::<__path_verify_email>(|r| r.to(verify_email)),
        Operation::of::<__path_resend_verification>(|r| r.to(resend_verification)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The one answer of a reset request, whether or not the address has an account.
const RESET_REQUESTED: &str =
    "If an account uses this address, a link to choose a new password is on its way.";

/// Mails a single-use link to choose a new password, if the address has an account. The answer,
/// and the time it takes, are the same either way.
#[utoipa::path(
    post,
    path = "/auth/password-reset/request",
    tag = "recovery",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted; a link is mailed if the address has an account.",
            body = MessageResponse, example = json!({"message": RESET_REQUESTED})),
        (status = 400, response = InvalidJson),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = MailRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = parse_email(body.email.as_deref()).map_err(ApiError::validation)?;
    let address = state.client_ip.of_request(&req);
    state
        .limits
        .admit_mail_request(MailRequest::PasswordReset, &email, address)
        .await?;
    state
        .auth
        .request_password_reset(&state.db, &email, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Accepted().json(MessageResponse {
        message: RESET_REQUESTED,
    }))
}

/// Sets a new password with the token of a reset link, ends every session of the patient, and
/// signs them in (a new session).
#[utoipa::path(
    post,
    path = "/auth/password-reset/confirm",
    tag = "recovery",
    request_body = PasswordResetConfirmRequest,
    responses(
        (status = 200, description = "Password set; every earlier session ended; a new token pair, \
            or, with a second factor on, the second step (`mfa_required`).", body = LoginResponse),
        (status = 400, response = InvalidJsonOrResetToken),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn confirm_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<PasswordResetConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let (token, new_password) = match (present(body.token), present(body.new_password)) {
        (Some(token), Some(new_password)) => (token, new_password),
        (token, new_password) => {
            let mut errors = FieldErrors::default();
            if token.is_none() {
                errors.add("token", "is required");
            }
            if new_password.is_none() {
                errors.add("new_password", "is required");
            }
            return Err(ApiError::validation(errors));
        }
    };
    let grant = state
        .auth
        .confirm_password_reset(&state.db, &token, new_password, &client_info(&state, &req))
        .await?;
    Ok(login_answer(&req, grant))
}

/// Marks the address a verification link was mailed to as verified.
#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "recovery",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is verified.", body = MessageResponse,
            example = json!({"message": "email address verified"})),
        (status = 400, response = InvalidJsonOrResetToken),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
        (status = 429, response = RateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(token) = present(body.token) else {
        let mut errors = FieldErrors::default();
        errors.add("token", "is required");
        return Err(ApiError::validation(errors));
    };
    state
        .auth
        .verify_email(&state.db, &token, &client_info(&state, &req))
        .await?;
    Ok(HttpResponse::Ok().json(MessageResponse {
        message: "email address verified",
    }))
}

/// Mails the caller a fresh verification link (earlier ones stop working). An address that is
/// verified already gets nothing.
#[utoipa::path(
    post,
    path = "/auth/verify-email/resend",
    tag = "recovery",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new link is on its way, or the address is verified already.",
            body = MessageResponse,
            examples(
                ("sent" = (value = json!({"message": "a new verification link is on its way"}))),
                ("verified" = (value = json!({"message": "the email address is verified already"}))),
            )),
        (status = 401, response = BearerRejected),
        (status = 429, response = MailRateLimited),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = Internal),
    )
)]
async fn resend_verification(
    state: web::Data<AppState>,
    req: HttpRequest,
    Authenticated(who): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&state, &req);
    // Counted per account: the address is the patient's own, so its id names it without a read.
    state
        .limits
        .admit_mail_request(
            MailRequest::Verification,
            &format!("patient:{}", who.patient_id),
            state.client_ip.of_request(&req),
        )
        .await?;
    let message = match state
        .auth
        .resend_verification(&state.db, &who, &client)
        .await?
    {
        VerificationRequest::Sent => "a new verification link is on its way",
        VerificationRequest::AlreadyVerified => "the email address is verified already",
    };
    Ok(HttpResponse::Accepted().json(MessageResponse { message }))
}
