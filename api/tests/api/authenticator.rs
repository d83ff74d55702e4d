//! A software passkey for the suites: a P-256 key that answers the server's WebAuthn options as
//! a platform authenticator would (attestation `none`, user verified), bytes built by hand
//! from the WebAuthn and CTAP2 specifications so that the server's checks meet real input.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Flags of authenticator data: user present, user verified, attested credential data.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// One credential on one software authenticator.
pub struct SoftPasskey {
    key: SigningKey,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The user handle it was created for (sent back on sign-in, as a discoverable one does).
    pub user_handle: Vec<u8>,
    /// The relying party id it is bound to.
    pub rp_id: String,
    counter: u32,
    /// Whether it sets the user-verified flag (a real one does after a PIN or biometric).
    pub verifies_user: bool,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("random");
    bytes
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

impl SoftPasskey {
    /// Answers creation `options` (`{"publicKey": …}`) from a page at `origin`: the new
    /// passkey, and the `PublicKeyCredential` JSON for the server.
    pub fn create(options: &Value, origin: &str) -> (Self, Value) {
        let public_key = &options["publicKey"];
        let key = loop {
            if let Ok(key) = SigningKey::from_slice(&random::<32>()) {
                break key;
            }
        };
        let passkey = Self {
            key,
            credential_id: random::<32>().to_vec(),
            user_handle: unb64(public_key["user"]["id"].as_str().expect("user.id")),
            rp_id: public_key["rp"]["id"].as_str().expect("rp.id").to_owned(),
            counter: 0,
            verifies_user: true,
        };
        let credential = passkey.attest(options, origin);
        (passkey, credential)
    }

    /// This credential's attestation for creation `options` (again: as a cloned key would).
    pub fn attest(&self, options: &Value, origin: &str) -> Value {
        let client_data = client_data("webauthn.create", &options["publicKey"], origin);
        let mut auth_data = self.auth_data(UP | UV | AT);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let mut attestation = Vec::new();
        cbor_head(&mut attestation, 5, 3);
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        cbor_head(&mut attestation, 5, 0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        let id = b64(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(client_data.as_bytes()),
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers request `options` from a page at `origin` (signs the challenge).
    pub fn get(&mut self, options: &Value, origin: &str) -> Value {
        self.counter += 1;
        let flags = if self.verifies_user { UP | UV } else { UP };
        let auth_data = self.auth_data(flags);
        let client_data = client_data("webauthn.get", &options["publicKey"], origin);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: Signature = self.key.sign(&signed);
        let id = b64(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(client_data.as_bytes()),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }

    /// A copy of this credential whose counter reads `counter` (a cloned key).
    pub fn clone_at_counter(&self, counter: u32) -> Self {
        Self {
            key: self.key.clone(),
            credential_id: self.credential_id.clone(),
            user_handle: self.user_handle.clone(),
            rp_id: self.rp_id.clone(),
            counter,
            verifies_user: self.verifies_user,
        }
    }

    /// rpIdHash, flags, signature counter.
    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// The public key as a COSE_Key (EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut key = Vec::new();
        cbor_head(&mut key, 5, 5);
        cbor_int(&mut key, 1); // kty
        cbor_int(&mut key, 2); // EC2
        cbor_int(&mut key, 3); // alg
        cbor_int(&mut key, -7); // ES256
        cbor_int(&mut key, -1); // crv
        cbor_int(&mut key, 1); // P-256
        cbor_int(&mut key, -2); // x
        cbor_bytes(&mut key, point.x().expect("x"));
        cbor_int(&mut key, -3); // y
        cbor_bytes(&mut key, point.y().expect("y"));
        key
    }
}

/// The client data a browser would hash for `options` on a page at `origin`.
fn client_data(kind: &str, options: &Value, origin: &str) -> String {
    json!({
        "type": kind,
        "challenge": options["challenge"].as_str().expect("challenge"),
        "origin": origin,
        "crossOrigin": false,
    })
    .to_string()
}

fn cbor_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    match value {
        0..=23 => out.push(major | value as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, value as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        _ => {
            out.push(major | 26);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
    }
}

fn cbor_int(out: &mut Vec<u8>, value: i64) {
    if value >= 0 {
        cbor_head(out, 0, value as u64);
    } else {
        cbor_head(out, 1, (-1 - value) as u64);
    }
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}
