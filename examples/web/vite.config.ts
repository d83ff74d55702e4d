// The example is served on its own origin (Vite: http://localhost:5173) and calls patient-auth
// on another, so the server must list this origin in CORS_ORIGINS.
// PATIENT_AUTH_URL (default http://127.0.0.1:5000) is where the server is; it is compiled into
// the page and into its Content-Security-Policy, whose connect-src allows only that origin.
import { defineConfig, type Plugin } from "vite";

const apiOrigin = new URL(process.env.PATIENT_AUTH_URL ?? "http://127.0.0.1:5000").origin;

/** Writes the API origin into index.html's CSP (`__API_ORIGIN__`). */
function contentSecurityPolicy(origin: string): Plugin {
  return {
    name: "patient-auth-csp",
    transformIndexHtml: (html) => html.replaceAll("__API_ORIGIN__", origin),
  };
}

export default defineConfig({
  define: { __PATIENT_AUTH_URL__: JSON.stringify(apiOrigin) },
  plugins: [contentSecurityPolicy(apiOrigin)],
  // The dev and preview servers answer index.html for any path without a file, so the links the
  // server mails (/reset-password#token=…, /verify-email#token=…) and /forgot-password open the
  // app, which routes on location.pathname (src/app.ts). A production host needs the same rule.
  appType: "spa",
  server: { port: 5173, strictPort: true },
  preview: { port: 4173, strictPort: true },
  build: { target: "es2022" },
});
