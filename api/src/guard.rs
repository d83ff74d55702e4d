//! The JWT guard: a handler that takes an [`Authenticated`] cannot run without a valid token
//! whose session is still open.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use secrecy::SecretString;
use service::AuthenticatedPatient;

use crate::access_log::note_patient;
use crate::error::ApiError;
use crate::state::AppState;

/// The patient and session behind the request's bearer token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AuthenticatedPatient);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let token = token?;
            let state = state.ok_or_else(ApiError::internal)?;
            let patient = state.auth.authenticate(&state.db, &token).await?;
            note_patient(&req, patient.patient_id.into());
            Ok(Self(patient))
        })
    }
}

/// The raw bearer token, for a handler whose service call checks it itself (`GET /auth/me`
/// checks the session and reads the profile in one query).
#[derive(Debug, Clone)]
pub struct BearerToken(pub SecretString);

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(bearer_token(req).map(|token| Self(SecretString::from(token))))
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Err(ApiError::missing_token());
    };
    let value = header
        .to_str()
        .map_err(|_| ApiError::from(service::ServiceError::InvalidToken))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(ApiError::missing_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::missing_token());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::missing_token());
    }
    Ok(token.to_owned())
}
