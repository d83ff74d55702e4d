/** Where patient-auth answers (PATIENT_AUTH_URL when the page was built or served). */
export const API_URL: string = __PATIENT_AUTH_URL__;

/** Renew the access token this many seconds before it expires. */
export const REFRESH_MARGIN_SECONDS = 30;

/** After a refresh that failed for a reason other than the session (network, 429, 503). */
export const REFRESH_RETRY_SECONDS = 10;
