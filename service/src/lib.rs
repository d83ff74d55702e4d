//! Patient authentication and profile logic, free of HTTP types.
//!
//! Functions take the connection they need (`C: ConnectionTrait`, or `TransactionTrait` where they
//! open a transaction), so the same code runs on a pool, inside a transaction and in tests.

mod account_tokens;
pub mod audit;
pub mod audit_queue;
pub mod auth;
pub mod clock;
mod common_passwords;
pub mod demo_data;
mod error;
pub mod limits;
mod lookup;
pub mod mail;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod profile;
pub mod recovery;
mod second_factor;
pub mod sessions;
pub mod tokens;
pub mod validation;

pub use audit::{AuditAction, LoginFailure, PatientRef};
pub use audit_queue::AuditQueue;
pub use auth::{
    AuthConfig, AuthService, AuthenticatedPatient, ClientInfo, Credentials, LoginId, SessionInfo,
    TokenGrant,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ServiceError;
pub use passkeys::{Ceremony, PasskeyAdded, PasskeySummary};
pub use profile::{PatientDetails, Profile, SessionStatus};
pub use recovery::{RecoveryConfig, VerificationRequest};
pub use second_factor::{
    LoginOutcome, MfaConfig, MfaStatus, PasskeyAssertion, SecondFactorChallenge, SecondFactorProof,
    TotpSetup,
};
/// The WebAuthn types of the passkey ceremonies, as the browser sends and receives them.
pub mod webauthn {
    pub use webauthn_rs::prelude::{
        CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
        RequestChallengeResponse, Url,
    };
}
pub use validation::{FieldErrors, NewPatient, RegistrationForm};
