/** patient-auth's origin, compiled in by vite.config.ts from PATIENT_AUTH_URL. */
declare const __PATIENT_AUTH_URL__: string;
