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
