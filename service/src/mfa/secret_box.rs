//! Sealing secrets at rest (the TOTP secret) with AES-256-GCM under `MFA_ENCRYPTION_KEY`, bound
//! to the row they belong to, and keyed hashes (recovery codes) under a key derived from it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;
/// Bytes of a GCM nonce.
const NONCE_BYTES: usize = 12;

/// Why a key or a sealed value cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    /// The key is not 32 bytes of base64 or hex.
    #[error("must be 32 random bytes, as base64 (44 characters) or hex (64)")]
    BadKey,
    /// A sealed value was changed, belongs to another row, or was sealed under another key.
    #[error("a sealed value cannot be opened (another key, or tampered with)")]
    Tampered,
    /// The random source failed.
    #[error("random source: {0}")]
    Random(String),
}

/// The MFA key: seals secrets and keys the hashes of recovery codes. `Debug` hides it.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    hasher: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    /// A box under `key` (32 bytes).
    pub fn new(key: &[u8; KEY_BYTES]) -> Result<Self, SecretBoxError> {
        // Two keys from one: sealing and hashing never share a key.
        let mut derive = Sha256::new();
        derive.update(b"patient-auth recovery-code hash key\0");
        derive.update(key);
        let hash_key: [u8; KEY_BYTES] = derive.finalize().into();
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            hasher: <Hmac<Sha256> as Mac>::new_from_slice(&hash_key)
                .map_err(|_| SecretBoxError::BadKey)?,
        })
    }

    /// A key written as base64 (standard or URL-safe, padded or not) or hex.
    pub fn parse_key(text: &str) -> Result<[u8; KEY_BYTES], SecretBoxError> {
        let text = text.trim();
        let decoded = if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            (0..KEY_BYTES)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SecretBoxError::BadKey)?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| SecretBoxError::BadKey)?
        };
        let key: [u8; KEY_BYTES] = decoded.try_into().map_err(|_| SecretBoxError::BadKey)?;
        // All zeros, or one byte repeated, is no key anyone should run with.
        if key.iter().all(|b| *b == key[0]) {
            return Err(SecretBoxError::BadKey);
        }
        Ok(key)
    }

    /// `plaintext` sealed for the row named by `context` (e.g. `mfa_totp:42`), as text.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, SecretBoxError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| SecretBoxError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretBoxError::Tampered)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What [`Self::seal`] sealed for `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SecretBoxError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SecretBoxError::Tampered)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(SecretBoxError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretBoxError::Tampered)
    }

    /// The keyed hash (hex HMAC-SHA-256) under which a short secret is stored: without the key,
    /// a copy of the table gives no way to search the codes offline.
    pub fn keyed_hash(&self, text: &str) -> String {
        let mut mac = self.hasher.clone();
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; KEY_BYTES] {
        let mut key = [byte; KEY_BYTES];
        key[0] = 1;
        key
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_for_its_row() {
        let sealed_box = SecretBox::new(&key(7)).expect("box");
        let sealed = sealed_box
            .seal(b"JBSWY3DPEHPK3PXP", "mfa_totp:42")
            .expect("sealed");
        assert!(!sealed.contains("JBSWY3DP"));
        assert_eq!(
            sealed_box.open(&sealed, "mfa_totp:42").expect("opened"),
            b"JBSWY3DPEHPK3PXP"
        );
        assert_eq!(
            sealed_box.open(&sealed, "mfa_totp:43"),
            Err(SecretBoxError::Tampered),
            "bound to its row"
        );
        assert_eq!(
            SecretBox::new(&key(8))
                .expect("box")
                .open(&sealed, "mfa_totp:42"),
            Err(SecretBoxError::Tampered)
        );
        assert_ne!(
            sealed,
            sealed_box
                .seal(b"JBSWY3DPEHPK3PXP", "mfa_totp:42")
                .expect("sealed"),
            "a fresh nonce each time"
        );
        assert_eq!(
            sealed_box.open("not-base64!", "x"),
            Err(SecretBoxError::Tampered)
        );
        assert_eq!(sealed_box.open("AAAA", "x"), Err(SecretBoxError::Tampered));
    }

    #[test]
    fn keys_are_32_bytes_of_base64_or_hex_and_not_a_repeated_byte() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        assert_eq!(SecretBox::parse_key(hex).expect("hex")[31], 0x1f);
        let b64 = STANDARD.encode(SecretBox::parse_key(hex).expect("hex"));
        assert_eq!(SecretBox::parse_key(&b64), SecretBox::parse_key(hex));
        for bad in ["", "short", &"00".repeat(32), &STANDARD.encode([9u8; 16])] {
            assert_eq!(
                SecretBox::parse_key(bad),
                Err(SecretBoxError::BadKey),
                "{bad}"
            );
        }
    }

    #[test]
    fn keyed_hashes_depend_on_the_key() {
        let a = SecretBox::new(&key(7)).expect("box");
        assert_eq!(a.keyed_hash("abcde-fghij"), a.keyed_hash("abcde-fghij"));
        assert_ne!(
            a.keyed_hash("abcde-fghij"),
            SecretBox::new(&key(8))
                .expect("box")
                .keyed_hash("abcde-fghij")
        );
        assert_eq!(a.keyed_hash("x").len(), 64);
    }
}
