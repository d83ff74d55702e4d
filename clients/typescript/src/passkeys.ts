// Passkeys (WebAuthn) between the server's JSON and the browser's API. The server sends options
// with binary fields as base64url and takes the browser's credential back the same way; these
// convert both ways by hand rather than with PublicKeyCredential.parseCreationOptionsFromJSON()
// and toJSON(), which browsers added only in 2024 and older Safari versions still in use lack.
// This file is written by hand, like index.ts.
import type { components } from "./schema";

type Schemas = components["schemas"];

/** `options` of the server's creation answer: `{"publicKey": …}`, binary fields base64url. */
export interface PasskeyCreationOptionsJSON {
  publicKey: PublicKeyCredentialCreationOptionsJSON;
}

/** `options` of the server's request answers: `{"publicKey": …}`, binary fields base64url. */
export interface PasskeyRequestOptionsJSON {
  publicKey: PublicKeyCredentialRequestOptionsJSON;
  mediation?: CredentialMediationRequirement;
}

/** A new passkey as `POST /auth/passkeys/register` takes it (`credential`). */
export interface RegistrationCredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: {
    attestationObject: string;
    clientDataJSON: string;
    transports?: string[];
  };
  clientExtensionResults: Record<string, unknown>;
}

/** A passkey's signed answer as the server takes it (`credential` of login, verify, changes). */
export interface AssertionCredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: {
    authenticatorData: string;
    clientDataJSON: string;
    signature: string;
    userHandle: string | null;
  };
  clientExtensionResults: Record<string, unknown>;
}

/** A passkey's answer with the `ceremony_token` of its options: the `passkey` of verify and changes. */
export interface PasskeyAssertion {
  ceremony_token: string;
  credential: AssertionCredentialJSON;
}

/** What `navigator.credentials.create()` made, with the `ceremony_token` of its options. */
export interface PasskeyRegistration {
  ceremony_token: string;
  credential: RegistrationCredentialJSON;
}

/** True when this browser has WebAuthn at all (a secure context, e.g. https: or http://localhost). */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === "function" && typeof navigator.credentials?.create === "function";
}

/** Base64url (with or without padding) as bytes; throws a TypeError on anything else. */
export function base64urlToBuffer(text: string): ArrayBuffer {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new TypeError("not base64url");
  const base64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** Bytes as base64url without padding, as the server writes and reads them. */
export function bufferToBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The server's creation options (`register/options`) for `navigator.credentials.create()`. */
export function creationOptions(options: Schemas["PasskeyCreationOptionsResponse"]["options"], signal?: AbortSignal): CredentialCreationOptions {
  const { challenge, user, excludeCredentials, extensions, ...rest } = (options as unknown as PasskeyCreationOptionsJSON).publicKey;
  const publicKey: PublicKeyCredentialCreationOptions = {
    ...(rest as Omit<PublicKeyCredentialCreationOptions, "challenge" | "user" | "excludeCredentials" | "extensions">),
    challenge: base64urlToBuffer(challenge),
    user: { ...user, id: base64urlToBuffer(user.id) },
    ...(excludeCredentials && { excludeCredentials: excludeCredentials.map(descriptor) }),
    ...(extensions && { extensions: byteFreeExtensions(extensions) }),
  };
  return { publicKey, ...(signal && { signal }) };
}

/** The server's request options (login, second step, fresh factor) for `navigator.credentials.get()`. */
export function requestOptions(options: Schemas["PasskeyRequestOptionsResponse"]["options"], signal?: AbortSignal): CredentialRequestOptions {
  const { publicKey: json, mediation } = options as unknown as PasskeyRequestOptionsJSON;
  const { challenge, allowCredentials, extensions, ...rest } = json;
  const publicKey: PublicKeyCredentialRequestOptions = {
    ...(rest as Omit<PublicKeyCredentialRequestOptions, "challenge" | "allowCredentials" | "extensions">),
    challenge: base64urlToBuffer(challenge),
    ...(allowCredentials && { allowCredentials: allowCredentials.map(descriptor) }),
    ...(extensions && { extensions: byteFreeExtensions(extensions) }),
  };
  return { publicKey, ...(mediation && { mediation }), ...(signal && { signal }) };
}

/** What `navigator.credentials.create()` answered, as the server takes it; throws a TypeError on anything but a new passkey. */
export function registrationJSON(credential: Credential | null): RegistrationCredentialJSON {
  if (!(credential instanceof PublicKeyCredential) || !(credential.response instanceof AuthenticatorAttestationResponse)) {
    throw new TypeError("navigator.credentials.create() did not answer a passkey");
  }
  const response = credential.response;
  // getTransports() is missing from some older browsers; the server does without.
  const transports = typeof response.getTransports === "function" ? response.getTransports() : undefined;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      attestationObject: bufferToBase64url(response.attestationObject),
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      ...(transports && { transports }),
    },
    clientExtensionResults: extensionResults(credential.getClientExtensionResults()),
  };
}

/** What `navigator.credentials.get()` answered, as the server takes it; throws a TypeError on anything but a passkey's answer. */
export function assertionJSON(credential: Credential | null): AssertionCredentialJSON {
  if (!(credential instanceof PublicKeyCredential) || !(credential.response instanceof AuthenticatorAssertionResponse)) {
    throw new TypeError("navigator.credentials.get() did not answer a passkey");
  }
  const response = credential.response;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: bufferToBase64url(response.authenticatorData),
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      signature: bufferToBase64url(response.signature),
      userHandle: response.userHandle && response.userHandle.byteLength > 0 ? bufferToBase64url(response.userHandle) : null,
    },
    clientExtensionResults: extensionResults(credential.getClientExtensionResults()),
  };
}

/** Makes a passkey for the server's creation answer; rejects with the browser's DOMException (`NotAllowedError`: closed or timed out, `InvalidStateError`: this authenticator has one of the account's passkeys). */
export async function createPasskey(answer: Schemas["PasskeyCreationOptionsResponse"], signal?: AbortSignal): Promise<PasskeyRegistration> {
  const credential = await navigator.credentials.create(creationOptions(answer.options, signal));
  return { ceremony_token: answer.ceremony_token, credential: registrationJSON(credential) };
}

/** Has a passkey answer the server's request options; rejects like `createPasskey`. */
export async function getPasskey(answer: Schemas["PasskeyRequestOptionsResponse"], signal?: AbortSignal): Promise<PasskeyAssertion> {
  const credential = await navigator.credentials.get(requestOptions(answer.options, signal));
  return { ceremony_token: answer.ceremony_token, credential: assertionJSON(credential) };
}

/** The body of `POST /auth/passkeys/register`, typed as the generated operation wants it (its `credential` is an opaque object there). */
export function passkeyRegisterBody(registration: PasskeyRegistration, name?: string): Schemas["PasskeyRegisterRequest"] {
  const body = { ...registration, ...(name !== undefined && { name }) };
  return body as unknown as Schemas["PasskeyRegisterRequest"];
}

/** The body of `POST /auth/passkeys/login` (see passkeyRegisterBody). */
export function passkeyLoginBody(assertion: PasskeyAssertion): Schemas["PasskeyLoginRequest"] {
  return assertion as unknown as Schemas["PasskeyLoginRequest"];
}

/** The server asks only for extensions without bytes in them (credProps, credProtect, uvm). */
function byteFreeExtensions(json: AuthenticationExtensionsClientInputsJSON): AuthenticationExtensionsClientInputs {
  return json as unknown as AuthenticationExtensionsClientInputs;
}

function descriptor(json: PublicKeyCredentialDescriptorJSON): PublicKeyCredentialDescriptor {
  return { ...json, id: base64urlToBuffer(json.id) } as PublicKeyCredentialDescriptor;
}

/** Extension outputs as JSON: any bytes in them (e.g. hmacGetSecret) as base64url. */
function extensionResults(results: AuthenticationExtensionsClientOutputs): Record<string, unknown> {
  const convert = (value: unknown): unknown => {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return bufferToBase64url(value);
    if (Array.isArray(value)) return value.map(convert);
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, convert(inner)]));
    }
    return value;
  };
  return convert(results) as Record<string, unknown>;
}
