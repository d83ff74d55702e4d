// Turns what the API or the network answered into words for the patient.
import type { ErrorBody } from "@patient-auth/client";
import { API_URL } from "./config";

export function describeError(error: ErrorBody): string {
  const fields = Object.entries(error.fields ?? {}).map(([field, problem]) => `${field}: ${problem}`);
  return [error.message, ...fields].join(" — ");
}

/** fetch() rejects (TypeError) when the server is down or the browser refused the CORS check. */
export function describeNetworkFailure(): string {
  return `Cannot reach patient-auth at ${API_URL}. Is it running, and is this page's origin (${location.origin}) listed in its CORS_ORIGINS?`;
}

/** Why the browser's passkey prompt (navigator.credentials.create() or get()) gave no passkey. */
export function describePasskeyFailure(error: unknown): string {
  switch (error instanceof DOMException ? error.name : "") {
    case "NotAllowedError":
      return "No passkey was used: the prompt was closed or timed out, or this device has no passkey for this site.";
    case "InvalidStateError":
      return "This device already holds one of your passkeys: use that one, or add this passkey on another device or security key.";
    case "SecurityError":
      return `Passkeys do not work on this page's address (${location.origin}): it must belong to the site the server's WEBAUTHN_RP_ID names (not an IP address).`;
    case "NotSupportedError":
      return "This browser or device cannot make the kind of passkey asked for.";
    default:
      return "The browser could not use a passkey here.";
  }
}

/** A passkey answer the server refused as not fitting (422): in words for the patient. */
export function describePasskeyRefusal(error: ErrorBody): string | ErrorBody {
  if (error.fields?.["ceremony_token"] !== undefined) {
    return "That took too long: the passkey must answer within 5 minutes of asking. Please try again.";
  }
  const problem = error.fields?.["credential"];
  if (problem !== undefined) {
    return `The server refused this passkey (it ${problem}): a passkey works only on the site addresses the server lists in WEBAUTHN_ORIGIN (this page is ${location.origin}).`;
  }
  return error;
}
