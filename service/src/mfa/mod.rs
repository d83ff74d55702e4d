//! The second factor: authenticator-app codes (RFC 6238), recovery codes and passkeys
//! (WebAuthn).

pub(crate) mod ceremony;
pub mod qr;
pub mod recovery_codes;
pub mod relying_party;
pub mod secret_box;
pub mod totp;

pub use relying_party::RelyingParty;
pub use secret_box::{SecretBox, SecretBoxError};
