// What run.sh started, passed in the environment.
function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser test with tests/browser/run.sh`);
  return value;
}

export const env = {
  /** patient-auth, started with CORS_ORIGINS = appUrl, passkeyAppUrl and passkeyOtherOriginUrl, JWT_EXP_MINUTES=1, no leeway. */
  apiUrl: required("API_URL"),
  /** The example, on the origin CORS_ORIGINS lists. */
  appUrl: required("APP_URL"),
  /** The same example on an origin CORS_ORIGINS does not list. */
  otherAppUrl: required("OTHER_APP_URL"),
  /** The example as http://localhost:<appUrl's port>: the server's WEBAUTHN_ORIGIN (WEBAUTHN_RP_ID=localhost). */
  passkeyAppUrl: required("PASSKEY_APP_URL"),
  /** The example as http://localhost:<otherAppUrl's port>: CORS_ORIGINS lists it, WEBAUTHN_ORIGIN does not. */
  passkeyOtherOriginUrl: required("PASSKEY_OTHER_ORIGIN_URL"),
  /** The server binary and its database, for `patient-auth demo-data`. */
  serverBinary: required("PATIENT_AUTH_BIN"),
  databaseUrl: required("PATIENT_AUTH_DATABASE_URL"),
  /** Where screenshots are kept. */
  artifactsDir: required("ARTIFACTS_DIR"),
  /**
   * Where the SMTP server patient-auth sends to writes each message (a .eml file); null when
   * run.sh found no aiosmtpd (then the mail specs are skipped; with CI=true it fails instead).
   */
  mailDir: process.env.MAIL_DIR || null,
  /** The access token lifetime the server was started with. */
  accessTokenSeconds: 60,
};
