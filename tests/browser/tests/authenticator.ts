// A virtual authenticator (Chrome DevTools Protocol, WebAuthn domain) in place of a fingerprint
// reader or a security key: it answers navigator.credentials.create() and get() of its tab at
// once, with the patient present and verified, and keeps its passkeys for the test to read.
import type { CDPSession, Page } from "@playwright/test";

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  /** The passkeys it holds now. */
  credentials(): Promise<{ credentialId: string; isResidentCredential: boolean; rpId?: string }[]>;
}

/** Adds a platform authenticator with user verification (like Touch ID or Windows Hello) to the page's tab. */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials,
  };
}
