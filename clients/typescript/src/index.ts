// The patient-auth client: openapi-fetch typed by the generated `schema.d.ts`, so every path,
// body, parameter and response is checked against the server's own OpenAPI document.
// This file is written by hand; `schema.d.ts` is generated (scripts/generate.sh).
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
export type TokenResponse = Schemas["TokenResponse"];
export type Profile = Schemas["ProfileResponse"];
export type Doctor = Schemas["DoctorResponse"];
export type Caregiver = Schemas["CaregiverResponse"];
export type Prescription = Schemas["PrescriptionResponse"];
export type Session = Schemas["SessionResponse"];
export type ErrorBody = Schemas["ErrorBody"];
export type ErrorCode = Schemas["ErrorCode"];
export type RegisterRequest = Schemas["RegisterRequest"];
export type LoginRequest = Schemas["LoginRequest"];
export type ChangePasswordRequest = Schemas["ChangePasswordRequest"];
export type PasswordResetRequest = Schemas["PasswordResetRequest"];
export type PasswordResetConfirmRequest = Schemas["PasswordResetConfirmRequest"];
export type VerifyEmailRequest = Schemas["VerifyEmailRequest"];
/** `{"message": "…"}`: logout, the reset request (202), verify-email, the verification resend (202). */
export type MessageResponse = Schemas["MessageResponse"];

export type PatientAuthClient = Client<paths>;

/** A client for the patient-auth server at `baseUrl` (e.g. `http://127.0.0.1:5000`). */
export function createPatientAuthClient(
  options: ClientOptions & { baseUrl: string },
): PatientAuthClient {
  return createClient<paths>(options);
}

/**
 * True when `error` is an error body with one of `codes`, narrowing its `error` to them, e.g.
 * `isErrorCode(error, "invalid_reset_token")` after `POST /auth/password-reset/confirm` or
 * `/auth/verify-email` (400: the link is used, expired, superseded or forged), or
 * `isErrorCode(error, "email_not_verified")` after `POST /auth/login` (403, only when the server
 * runs with REQUIRE_VERIFIED_EMAIL=true).
 */
export function isErrorCode<C extends ErrorCode>(error: unknown, ...codes: C[]): error is ErrorBody & { error: C } {
  return (
    typeof error === "object" &&
    error !== null &&
    "error" in error &&
    (codes as readonly unknown[]).includes(error.error)
  );
}

/**
 * The token of a mailed link, `PUBLIC_APP_URL/reset-password#token=…` or `…/verify-email#token=…`,
 * from its fragment (`location.hash`, with or without the `#`); null when there is none. The token
 * is in the fragment so that it reaches no server log; take it out of the address bar once read
 * (`history.replaceState`), and send it only in the body of the confirm or verify call.
 */
export function tokenFromFragment(fragment: string): string | null {
  const token = new URLSearchParams(fragment.replace(/^#/, "")).get("token");
  return token ? token : null;
}
