//! SeaORM models of the contract's tables (`doctors`, `caregivers`, `patients`, `prescriptions`)
//! and of the service's own tables (`auth_sessions`, `refresh_tokens`, `audit_events`, `account_tokens`, `mail_outbox`, `mfa_totp`, `mfa_recovery_codes`, `mfa_challenges`, `passkeys`, `webauthn_ceremonies`).

pub mod account_token;
pub mod audit_event;
pub mod auth_session;
pub mod caregiver;
pub mod doctor;
pub mod mail_outbox;
pub mod mfa_challenge;
pub mod mfa_recovery_code;
pub mod mfa_totp;
pub mod passkey;
pub mod patient;
pub mod prescription;
pub mod refresh_token;
pub mod webauthn_ceremony;

/// The usual imports for code that queries these tables.
pub mod prelude {
    pub use crate::account_token::Entity as AccountToken;
    pub use crate::audit_event::Entity as AuditEvent;
    pub use crate::auth_session::Entity as AuthSession;
    pub use crate::caregiver::Entity as Caregiver;
    pub use crate::doctor::Entity as Doctor;
    pub use crate::mail_outbox::Entity as MailOutbox;
    pub use crate::mfa_challenge::Entity as MfaChallenge;
    pub use crate::mfa_recovery_code::Entity as MfaRecoveryCode;
    pub use crate::mfa_totp::Entity as MfaTotp;
    pub use crate::passkey::Entity as Passkey;
    pub use crate::patient::Entity as Patient;
    pub use crate::prescription::Entity as Prescription;
    pub use crate::refresh_token::Entity as RefreshToken;
    pub use crate::webauthn_ceremony::Entity as WebauthnCeremony;
}
