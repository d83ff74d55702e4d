//! The second factor: authenticator-app codes (RFC 6238) and recovery codes.

pub mod qr;
pub mod recovery_codes;
pub mod secret_box;
pub mod totp;

pub use secret_box::{SecretBox, SecretBoxError};
