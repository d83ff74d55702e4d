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

export type PatientAuthClient = Client<paths>;

/** A client for the patient-auth server at `baseUrl` (e.g. `http://127.0.0.1:5000`). */
export function createPatientAuthClient(
  options: ClientOptions & { baseUrl: string },
): PatientAuthClient {
  return createClient<paths>(options);
}
