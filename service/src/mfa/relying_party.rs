//! The WebAuthn relying party: the site passkeys are bound to (`WEBAUTHN_RP_ID`) and the origins
//! whose pages may use them (`WEBAUTHN_ORIGIN`).

use std::sync::Arc;

use url::Url;
use webauthn_rs::prelude::{Webauthn, WebauthnBuilder};

/// Passkey settings, checked once at start-up.
#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Arc<Webauthn>,
    id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .field("origins", &self.webauthn.get_allowed_origins())
            .finish()
    }
}

impl RelyingParty {
    /// The relying party `id` (a registrable domain, or `localhost`), named `name` in the
    /// browser's prompts, for pages at `origins` (each `id` itself or a subdomain of it).
    pub fn new(id: &str, name: &str, origins: &[Url]) -> Result<Self, String> {
        let (first, others) = origins
            .split_first()
            .ok_or_else(|| "at least one origin is needed".to_owned())?;
        let mut builder = WebauthnBuilder::new(id, first)
            .map_err(|e| format!("{first} cannot use passkeys of `{id}`: {e}"))?
            .rp_name(name);
        for origin in others {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("passkeys of `{id}` cannot be set up: {e}"))?;
        Ok(Self {
            webauthn: Arc::new(webauthn),
            id: id.to_owned(),
        })
    }

    /// What runs the ceremonies.
    pub(crate) fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// The relying party id.
    pub fn id(&self) -> &str {
        &self.id
    }
}
