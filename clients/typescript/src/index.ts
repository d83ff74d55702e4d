// The patient-auth client: openapi-fetch typed by the generated `schema.d.ts`, so every path,
// body, parameter and response is checked against the server's own OpenAPI document.
// This file is written by hand; `schema.d.ts` is generated (scripts/generate.sh).
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { PasskeyAssertion } from "./passkeys";
import type { components, paths } from "./schema";

export * from "./passkeys";
export type { components, operations, paths } from "./schema";

type Schemas = components["schemas"];
export type TokenResponse = Schemas["TokenResponse"];
/** What `POST /auth/login` and `POST /auth/password-reset/confirm` answer: tokens, or the second step. */
export type LoginResponse = Schemas["LoginResponse"];
/** The second step of a login: no tokens yet, only the `mfa_token` for `POST /auth/mfa/verify`. */
export type MfaRequired = Schemas["MfaRequiredResponse"];
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
export type TotpConfirmRequest = Schemas["TotpConfirmRequest"];
/** `GET /auth/mfa`: whether authenticator-app codes are on, and how many recovery codes are left. */
export type MfaStatus = Schemas["MfaStatusResponse"];
/** `POST /auth/mfa/totp/setup`: the secret, its `otpauth://` URI and that URI as a QR code (SVG). */
export type TotpSetup = Schemas["TotpSetupResponse"];
/** Ten single-use recovery codes (`totp/confirm`, `recovery-codes`): the server shows them once. */
export type RecoveryCodes = Schemas["RecoveryCodesResponse"];
/** One of the caller's passkeys (`GET /auth/passkeys`): `id`, `name`, `passwordless`, `created_at`, `last_used_at`. */
export type Passkey = Schemas["PasskeyResponse"];
/** `POST /auth/passkeys/register/options`: the password, and whether the passkey also signs in alone. */
export type PasskeyOptionsRequest = Schemas["PasskeyOptionsRequest"];
/** `POST /auth/passkeys/register`'s 201: the new passkey, and ten recovery codes when it is the first factor. */
export type PasskeyAdded = Schemas["PasskeyAddedResponse"];
/** Options for `navigator.credentials.create()` (see creationOptions, createPasskey) and their `ceremony_token`. */
export type PasskeyCreationOptions = Schemas["PasskeyCreationOptionsResponse"];
/** Options for `navigator.credentials.get()` (see requestOptions, getPasskey) and their `ceremony_token`. */
export type PasskeyRequestOptions = Schemas["PasskeyRequestOptionsResponse"];
/**
 * Exactly one second factor: a code of the authenticator app, a recovery code, or a passkey's
 * answer (getPasskey). (The served schema lists `code` and `recovery_code` as required and a
 * passkey's `credential` as an opaque object; the server answers 422 unless exactly one is
 * given, so these types say what it accepts, and the *Body helpers below convert them for the
 * generated operations.)
 */
export type SecondFactor =
  | { code: string; recovery_code?: never; passkey?: never }
  | { recovery_code: string; code?: never; passkey?: never }
  | { passkey: PasskeyAssertion; code?: never; recovery_code?: never };
/** `POST /auth/mfa/verify`: the login's `mfa_token` and one factor. */
export type MfaVerifyRequest = { mfa_token: string } & SecondFactor;
/** `POST /auth/mfa/totp/disable` and `POST /auth/mfa/recovery-codes`: the password and one factor. */
export type MfaChangeRequest = { password: string } & SecondFactor;
/** `POST /auth/passkeys/remove`: which passkey, the password and one factor. */
export type PasskeyRemoveRequest = { passkey_id: string; password: string } & SecondFactor;
/** `{"message": "…"}`: logout, the reset request (202), verify-email, the verification resend (202), totp/disable. */
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
 * runs with REQUIRE_VERIFIED_EMAIL=true). After `POST /auth/mfa/verify`, both 401s:
 * `"invalid_credentials"` is a wrong or used code (the same `mfa_token` may try again),
 * `"invalid_token"` a used or expired `mfa_token` (log in again).
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

/**
 * True when a login's answer (or a password reset's) is the second step rather than tokens:
 * show a form for a code (or, with "webauthn" in `methods`, `POST /auth/mfa/passkey/options`
 * and getPasskey), then `POST /auth/mfa/verify` with `mfa_token` (5 minutes, once).
 */
export function isMfaRequired(answer: LoginResponse): answer is MfaRequired {
  return "mfa_required" in answer && answer.mfa_required === true;
}

/**
 * What a patient typed in one field for "a code from the app or a recovery code", as the body
 * field it belongs in: six digits (spaces allowed, as apps show "123 456") are an app code,
 * anything else a recovery code (sent as typed: the server ignores case, spaces and dashes).
 */
export function secondFactor(typed: string): SecondFactor {
  const digits = typed.replace(/\s+/g, "");
  return /^\d{6}$/.test(digits) ? { code: digits } : { recovery_code: typed.trim() };
}

/** The body of `POST /auth/mfa/verify`, typed as the generated operation wants it (see SecondFactor). */
export function mfaVerifyBody(request: MfaVerifyRequest): Schemas["MfaVerifyRequest"] {
  return request as unknown as Schemas["MfaVerifyRequest"];
}

/** The body of `POST /auth/mfa/totp/disable` and `/auth/mfa/recovery-codes` (see SecondFactor). */
export function mfaChangeBody(request: MfaChangeRequest): Schemas["MfaChangeRequest"] {
  return request as unknown as Schemas["MfaChangeRequest"];
}

/** The body of `POST /auth/passkeys/remove` (see SecondFactor). */
export function passkeyRemoveBody(request: PasskeyRemoveRequest): Schemas["PasskeyRemoveRequest"] {
  return request as unknown as Schemas["PasskeyRemoveRequest"];
}
