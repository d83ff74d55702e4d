//! Rate limits against brute force.
//!
//! - Per client address: `RATE_LIMIT_PER_MINUTE` attempts a minute on each of login, register,
//!   refresh and change-password (counted by [`middleware`], before the body is even read, so
//!   malformed attempts count too).
//! - Per account: `LOGIN_FAILURE_LIMIT` failed logins per `LOGIN_FAILURE_WINDOW_SECONDS` for one
//!   account *from one client address*; a successful login takes its attempt back. Counting per
//!   account and address means an attacker elsewhere cannot lock a patient out at all, and one
//!   who shares the patient's address only for the rest of the window.
//! - Mail requests (a reset link, a new verification link): `PASSWORD_RESET_LIMIT` per
//!   `PASSWORD_RESET_WINDOW_SECONDS`, per client address and per address mailed to, whether or
//!   not that address has an account (so a `429` says nothing about it either), so that nobody
//!   can flood a patient's mailbox.

mod store;

use std::net::IpAddr;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};
use sha2::{Digest, Sha256};

pub use store::{LimitStore, RedisSettings, StoreError, TakeBack};

use crate::error::ApiError;
use crate::state::AppState;

/// A route whose attempts are limited per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedRoute {
    /// `POST /auth/login`.
    Login,
    /// `POST /auth/register`.
    Register,
    /// `POST /auth/refresh`.
    Refresh,
    /// `POST /auth/change-password`.
    ChangePassword,
    /// `POST /auth/password-reset/confirm`.
    PasswordResetConfirm,
    /// `POST /auth/verify-email`.
    VerifyEmail,
    /// `POST /auth/verify-email/resend`.
    VerifyEmailResend,
    /// `POST /auth/mfa/verify`.
    MfaVerify,
    /// `POST /auth/mfa/totp/confirm`.
    TotpConfirm,
    /// `POST /auth/mfa/totp/setup`.
    TotpSetup,
    /// `POST /auth/mfa/totp/disable`.
    TotpDisable,
    /// `POST /auth/mfa/recovery-codes`.
    RecoveryCodes,
    /// `POST /auth/mfa/passkey/options`.
    MfaPasskeyOptions,
    /// `POST /auth/passkeys/register/options`.
    PasskeyRegisterOptions,
    /// `POST /auth/passkeys/register`.
    PasskeyRegister,
    /// `POST /auth/passkeys/remove`.
    PasskeyRemove,
    /// `POST /auth/passkeys/assertion-options`.
    PasskeyAssertionOptions,
    /// `POST /auth/passkeys/login/options`.
    PasskeyLoginOptions,
    /// `POST /auth/passkeys/login`.
    PasskeyLogin,
}

impl LimitedRoute {
    /// Every limited route.
    pub const ALL: [Self; 19] = [
        Self::Register,
        Self::Login,
        Self::Refresh,
        Self::ChangePassword,
        Self::PasswordResetConfirm,
        Self::VerifyEmail,
        Self::VerifyEmailResend,
        Self::MfaVerify,
        Self::TotpConfirm,
        Self::TotpSetup,
        Self::TotpDisable,
        Self::RecoveryCodes,
        Self::MfaPasskeyOptions,
        Self::PasskeyRegisterOptions,
        Self::PasskeyRegister,
        Self::PasskeyRemove,
        Self::PasskeyAssertionOptions,
        Self::PasskeyLoginOptions,
        Self::PasskeyLogin,
    ];

    /// The limited route a request is for, if any (all of them are `POST`s).
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        if method != Method::POST {
            return None;
        }
        Self::ALL.into_iter().find(|route| route.path() == path)
    }

    /// Its path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Login => "/auth/login",
            Self::Register => "/auth/register",
            Self::Refresh => "/auth/refresh",
            Self::ChangePassword => "/auth/change-password",
            Self::PasswordResetConfirm => "/auth/password-reset/confirm",
            Self::VerifyEmail => "/auth/verify-email",
            Self::VerifyEmailResend => "/auth/verify-email/resend",
            Self::MfaVerify => "/auth/mfa/verify",
            Self::TotpConfirm => "/auth/mfa/totp/confirm",
            Self::TotpSetup => "/auth/mfa/totp/setup",
            Self::TotpDisable => "/auth/mfa/totp/disable",
            Self::RecoveryCodes => "/auth/mfa/recovery-codes",
            Self::MfaPasskeyOptions => "/auth/mfa/passkey/options",
            Self::PasskeyRegisterOptions => "/auth/passkeys/register/options",
            Self::PasskeyRegister => "/auth/passkeys/register",
            Self::PasskeyRemove => "/auth/passkeys/remove",
            Self::PasskeyAssertionOptions => "/auth/passkeys/assertion-options",
            Self::PasskeyLoginOptions => "/auth/passkeys/login/options",
            Self::PasskeyLogin => "/auth/passkeys/login",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::Refresh => "refresh",
            Self::ChangePassword => "change-password",
            Self::PasswordResetConfirm => "password-reset-confirm",
            Self::VerifyEmail => "verify-email",
            Self::VerifyEmailResend => "verify-email-resend",
            Self::MfaVerify => "mfa-verify",
            Self::TotpConfirm => "totp-confirm",
            Self::TotpSetup => "totp-setup",
            Self::TotpDisable => "totp-disable",
            Self::RecoveryCodes => "recovery-codes",
            Self::MfaPasskeyOptions => "mfa-passkey-options",
            Self::PasskeyRegisterOptions => "passkey-register-options",
            Self::PasskeyRegister => "passkey-register",
            Self::PasskeyRemove => "passkey-remove",
            Self::PasskeyAssertionOptions => "passkey-assertion-options",
            Self::PasskeyLoginOptions => "passkey-login-options",
            Self::PasskeyLogin => "passkey-login",
        }
    }
}

/// The limits, as configured.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Attempts a minute per client address on each limited route (0 = no limit).
    pub per_client_per_minute: u64,
    /// Failed logins per account and client address in one window (0 = no limit).
    pub login_failures: u64,
    /// The window of `login_failures`.
    pub login_failure_window: Duration,
    /// Mail requests per client address, and per address mailed to, in one window (0 = no limit).
    pub mail_requests: u64,
    /// The window of `mail_requests`.
    pub mail_request_window: Duration,
    /// Wrong second factors per account in one window (0 = no limit).
    pub mfa_failures: u64,
    /// The window of `mfa_failures`.
    pub mfa_failure_window: Duration,
}

/// What a mail request asks to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailRequest {
    /// A password-reset link.
    PasswordReset,
    /// A new verification link.
    Verification,
}

impl MailRequest {
    fn name(self) -> &'static str {
        match self {
            Self::PasswordReset => "reset",
            Self::Verification => "verify",
        }
    }
}

/// The window of the per-client limit.
pub const PER_CLIENT_WINDOW: Duration = Duration::from_secs(60);

/// The name of the per-client policy in the `RateLimit` headers.
pub const POLICY_NAME: &str = "per-client";

/// What is left of a client's attempts on a limited route, sent as the IETF httpapi draft's
/// `RateLimit-Policy` and `RateLimit` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Attempts allowed per window.
    pub limit: u64,
    /// Attempts left in the current window.
    pub remaining: u64,
    /// Seconds until the window starts again.
    pub reset_seconds: u64,
}

impl Quota {
    /// `RateLimit-Policy`: `"per-client";q=<limit>;w=<window seconds>`.
    pub fn policy_header(&self) -> String {
        format!(
            "\"{POLICY_NAME}\";q={};w={}",
            self.limit,
            PER_CLIENT_WINDOW.as_secs()
        )
    }

    /// `RateLimit`: `"per-client";r=<remaining>;t=<seconds to reset>`.
    pub fn state_header(&self) -> String {
        format!(
            "\"{POLICY_NAME}\";r={};t={}",
            self.remaining, self.reset_seconds
        )
    }

    fn apply(&self, headers: &mut actix_web::http::header::HeaderMap) {
        use actix_web::http::header::{HeaderName, HeaderValue};
        for (name, value) in [
            ("ratelimit-policy", self.policy_header()),
            ("ratelimit", self.state_header()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// The limits of this instance, counted in its [`LimitStore`].
#[derive(Clone)]
pub struct RateLimits {
    settings: RateLimitSettings,
    store: LimitStore,
}

/// A login attempt counted against its account; [`LoginAttempt::succeeded`] takes it back.
pub struct LoginAttempt {
    token: Option<TakeBack>,
}

impl RateLimits {
    /// Limits counted in `store`.
    pub fn new(settings: RateLimitSettings, store: LimitStore) -> Self {
        Self { settings, store }
    }

    /// The store (for `/ready`'s Redis check).
    pub fn store(&self) -> &LimitStore {
        &self.store
    }

    /// Counts an attempt on `route` from `client`: what is left of the client's quota (`None`
    /// when limits are off), or `429` with that quota when over the limit.
    pub async fn admit(
        &self,
        route: LimitedRoute,
        client: Option<IpAddr>,
    ) -> Result<Option<Quota>, (ApiError, Quota)> {
        let max = self.settings.per_client_per_minute;
        if max == 0 {
            return Ok(None);
        }
        let key = format!("ip:{}:{}", route.name(), address_key(client));
        let counted = self.store.hit(key, max, PER_CLIENT_WINDOW).await;
        let quota = Quota {
            limit: max,
            remaining: counted.remaining,
            reset_seconds: counted.retry_after_seconds,
        };
        if counted.allowed {
            Ok(Some(quota))
        } else {
            Err((ApiError::rate_limited(counted.retry_after_seconds), quota))
        }
    }

    /// Counts a login attempt for the account named `login` from `client`, before the password
    /// is checked: `429` while that account has had too many failures from there.
    pub async fn begin_login(
        &self,
        login: &str,
        client: Option<IpAddr>,
    ) -> Result<LoginAttempt, ApiError> {
        let key = format!("login:{}:{}", account_key(login), address_key(client));
        self.count_attempt(
            key,
            self.settings.login_failures,
            self.settings.login_failure_window,
        )
        .await
    }

    /// Counts an attempt under `key` that [`Self::login_succeeded`] may take back: `429` when
    /// `max` (0: no limit) were counted in the window.
    async fn count_attempt(
        &self,
        key: String,
        max: u64,
        window: Duration,
    ) -> Result<LoginAttempt, ApiError> {
        if max == 0 {
            return Ok(LoginAttempt { token: None });
        }
        let counted = self.store.hit(key, max, window).await;
        if counted.allowed {
            Ok(LoginAttempt {
                token: Some(counted.token),
            })
        } else {
            Err(ApiError::rate_limited(counted.retry_after_seconds))
        }
    }

    /// Counts a request to mail `kind` to `address` (an email address, or for a resend the
    /// patient, whose own address it is) from `client`: `429` when either has asked too often in
    /// the window. Known and unknown addresses count alike.
    pub async fn admit_mail_request(
        &self,
        kind: MailRequest,
        address: &str,
        client: Option<IpAddr>,
    ) -> Result<(), ApiError> {
        let max = self.settings.mail_requests;
        if max == 0 {
            return Ok(());
        }
        let window = self.settings.mail_request_window;
        for key in [
            format!("mail-from:{}:{}", kind.name(), address_key(client)),
            format!("mail-to:{}:{}", kind.name(), account_key(address)),
        ] {
            let counted = self.store.hit(key, max, window).await;
            if !counted.allowed {
                return Err(ApiError::rate_limited(counted.retry_after_seconds));
            }
        }
        Ok(())
    }

    /// Counts a second-factor attempt for `patient_id` (from anywhere: whoever has the password
    /// may have many addresses): `429` while that account has had too many wrong ones.
    pub async fn begin_second_factor(&self, patient_id: i32) -> Result<LoginAttempt, ApiError> {
        self.count_attempt(
            format!("mfa:{patient_id}"),
            self.settings.mfa_failures,
            self.settings.mfa_failure_window,
        )
        .await
    }

    /// Takes a login attempt back: it succeeded, so it was no failure.
    pub async fn login_succeeded(&self, attempt: LoginAttempt) {
        if let Some(token) = attempt.token {
            self.store.take_back(token).await;
        }
    }
}

/// The account part of a key: a hash, so neither Redis nor a memory dump holds what people typed
/// (which is sometimes a password typed into the wrong box).
fn account_key(login: &str) -> String {
    let digest = Sha256::digest(login.trim().to_lowercase().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The address part of a key: IPv4 as it is; IPv6 by its /64, which one subscriber usually holds
/// whole (counting single addresses would let them rotate through 2^64 of them).
fn address_key(client: Option<IpAddr>) -> String {
    match client {
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => {
            let segments = ip.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        None => "unknown".to_owned(),
    }
}

/// Middleware: counts attempts on the limited routes per client address and answers `429` over
/// the limit, before the request reaches its handler.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let mut quota = None;
    if let Some(route) = LimitedRoute::of(req.method(), req.path()) {
        if let Some(state) = req.app_data::<web::Data<AppState>>() {
            let client = state.client_ip.of_request(req.request());
            match state.limits.admit(route, client).await {
                Ok(left) => quota = left,
                Err((error, refused)) => {
                    let mut response = error.error_response().map_into_right_body();
                    refused.apply(response.headers_mut());
                    return Ok(req.into_response(response));
                }
            }
        }
    }
    let mut response = next.call(req).await?.map_into_left_body();
    if let Some(quota) = quota {
        quota.apply(response.headers_mut());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_minute: u64, failures: u64) -> RateLimitSettings {
        RateLimitSettings {
            per_client_per_minute: per_minute,
            login_failures: failures,
            login_failure_window: Duration::from_secs(300),
            mail_requests: 2,
            mail_request_window: Duration::from_secs(3600),
            mfa_failures: 0,
            mfa_failure_window: Duration::from_secs(900),
        }
    }

    async fn limits(per_minute: u64, failures: u64) -> RateLimits {
        RateLimits::new(
            settings(per_minute, failures),
            LimitStore::new(None).await.expect("store"),
        )
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("address"))
    }

    #[tokio::test]
    async fn each_route_and_address_has_its_own_allowance() {
        let limits = limits(3, 0).await;
        for _ in 0..3 {
            assert!(limits
                .admit(LimitedRoute::Login, ip("192.0.2.1"))
                .await
                .is_ok());
        }
        let (refused, quota) = limits
            .admit(LimitedRoute::Login, ip("192.0.2.1"))
            .await
            .expect_err("fourth attempt");
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(quota.remaining, 0);
        assert_eq!(quota.policy_header(), "\"per-client\";q=3;w=60");
        assert!(limits
            .admit(LimitedRoute::Register, ip("192.0.2.1"))
            .await
            .is_ok());
        assert!(limits
            .admit(LimitedRoute::Login, ip("192.0.2.2"))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn each_attempt_reports_what_is_left() {
        let limits = limits(3, 0).await;
        for left in [2, 1, 0] {
            let quota = limits
                .admit(LimitedRoute::Refresh, ip("192.0.2.9"))
                .await
                .expect("allowed")
                .expect("limits on");
            assert_eq!((quota.limit, quota.remaining), (3, left));
            assert!((1..=60).contains(&quota.reset_seconds));
            assert_eq!(
                quota.state_header(),
                format!("\"per-client\";r={left};t={}", quota.reset_seconds)
            );
        }
    }

    #[tokio::test]
    async fn zero_means_no_limit() {
        let limits = limits(0, 0).await;
        for _ in 0..100 {
            assert_eq!(
                limits
                    .admit(LimitedRoute::Login, ip("192.0.2.1"))
                    .await
                    .expect("no limit"),
                None
            );
            assert!(limits.begin_login("a@example.com", None).await.is_ok());
        }
    }

    #[tokio::test]
    async fn successful_logins_do_not_count_against_the_account() {
        let limits = limits(0, 2).await;
        for _ in 0..10 {
            let attempt = limits
                .begin_login("a@example.com", ip("192.0.2.1"))
                .await
                .expect("allowed");
            limits.login_succeeded(attempt).await;
        }
        for _ in 0..2 {
            limits
                .begin_login("A@Example.com ", ip("192.0.2.1"))
                .await
                .expect("failure within the allowance");
        }
        assert!(limits
            .begin_login("a@example.com", ip("192.0.2.1"))
            .await
            .is_err());
        // The same account from another address is not locked.
        assert!(limits
            .begin_login("a@example.com", ip("198.51.100.7"))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn mail_requests_are_limited_per_client_and_per_address_alike() {
        let limits = limits(0, 0).await;
        let kind = MailRequest::PasswordReset;
        for _ in 0..2 {
            assert!(limits
                .admit_mail_request(kind, "a@example.com", ip("192.0.2.1"))
                .await
                .is_ok());
        }
        // The address asked for too often, from anywhere.
        assert!(limits
            .admit_mail_request(kind, "A@example.com", ip("198.51.100.1"))
            .await
            .is_err());
        // The client asked too often, for any address.
        assert!(limits
            .admit_mail_request(kind, "b@example.com", ip("192.0.2.1"))
            .await
            .is_err());
        // Another client for another address, and another kind of request, are their own.
        assert!(limits
            .admit_mail_request(kind, "c@example.com", ip("203.0.113.5"))
            .await
            .is_ok());
        assert!(limits
            .admit_mail_request(MailRequest::Verification, "a@example.com", ip("192.0.2.9"))
            .await
            .is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn account_keys_do_not_contain_what_was_typed() {
        let key = account_key("hunter2-password");
        assert!(!key.contains("hunter2"));
        assert_eq!(key, account_key(" HUNTER2-password"));
    }
}
