//! Every length and range the service enforces or its tables hold, in one place: the validation
//! checks these, and the OpenAPI document states them from here.

/// Longest accepted name, in characters (also the column's length).
pub const NAME_MAX: usize = 100;
/// Longest accepted email address, in characters.
pub const EMAIL_MAX: usize = 254;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest accepted password, in characters.
pub const PASSWORD_MAX: usize = 128;
/// Shortest username.
pub const USERNAME_MIN: usize = 3;
/// Longest username (also the column's length).
pub const USERNAME_MAX: usize = 50;
/// The characters a username may have, as a pattern.
pub const USERNAME_PATTERN: &str = "^[A-Za-z0-9._-]{3,50}$";
/// Longest user agent kept with a session, in characters (the column holds 512).
pub const USER_AGENT_MAX: usize = 512;
/// Longest client address text (an IPv6 address with an IPv4 tail).
pub const IP_MAX: usize = 45;
/// Session ids are hyphenated UUIDs.
pub const SESSION_ID_LEN: usize = 36;
/// A refresh token: 256 random bits in unpadded URL-safe base64.
pub const REFRESH_TOKEN_LEN: usize = 43;
/// Longest refresh token a request may carry before it is refused unread.
pub const REFRESH_TOKEN_INPUT_MAX: usize = 256;
/// A mailed token (password reset, email verification): 256 random bits, as a refresh token.
pub const ACCOUNT_TOKEN_LEN: usize = REFRESH_TOKEN_LEN;
/// Longest mailed token a request may carry before it is refused unread.
pub const ACCOUNT_TOKEN_INPUT_MAX: usize = 256;
/// Longest authenticator-app code a request may carry (six digits; spaces are trimmed).
pub const MFA_CODE_INPUT_MAX: usize = 16;
/// Longest recovery code a request may carry (`xxxxx-xxxxx`, spaces and case forgiven).
pub const RECOVERY_CODE_INPUT_MAX: usize = 32;
/// A recovery code as handed out.
pub const RECOVERY_CODE_LEN: usize = 11;
/// Recovery codes handed out at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// A TOTP secret in base32 (160 bits).
pub const TOTP_SECRET_LEN: usize = 32;
/// Longest `otpauth://` URI the server writes.
pub const OTPAUTH_URI_MAX: usize = 1_024;
/// Longest setup QR code (SVG) the server writes.
pub const QR_SVG_MAX: usize = 65_536;
/// Longest name of a passkey, in characters (the column holds 64).
pub const PASSKEY_NAME_MAX: usize = 64;
/// Passkeys one patient may register.
pub const PASSKEYS_PER_PATIENT: u64 = 10;
/// A passkey's id: a UUID.
pub const PASSKEY_ID_LEN: usize = 36;
/// Longest passkey id accepted for a lookup.
pub const PASSKEY_ID_INPUT_MAX: usize = 64;

/// Longest access token the server issues or reads.
pub const ACCESS_TOKEN_MAX: usize = 4096;
/// Longest phone number the tables hold.
pub const PHONE_MAX: usize = 30;
/// Longest doctor's specialty.
pub const SPECIALTY_MAX: usize = 100;
/// Longest caregiver's relationship.
pub const RELATIONSHIP_MAX: usize = 50;
/// Longest medication name.
pub const MEDICATION_MAX: usize = 200;
/// Longest dosage and frequency.
pub const DOSAGE_MAX: usize = 100;
/// A calendar date as the API writes it (`YYYY-MM-DD`).
pub const DATE_LEN: usize = 10;
/// A timestamp as the API writes it (`YYYY-MM-DDTHH:MM:SSZ`).
pub const TIMESTAMP_LEN: usize = 20;
/// Largest id the tables hand out (their keys are 32-bit).
pub const ID_MAX: i64 = i32::MAX as i64;
/// Shortest and longest access-token lifetime, in seconds (`JWT_EXP_MINUTES` 1–1440).
pub const TOKEN_LIFETIME_SECONDS: (i64, i64) = (60, 86_400);
