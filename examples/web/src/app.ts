// What the page does: the signed-out forms (and a passkey alone) and a login's second step, or
// the signed-in page (profile, two-step sign-in, passkeys, sessions, the planned renewal, log
// out); and the pages of account recovery, which mailed links open. Two clients: `publicApi`
// sends no token (register, log in, a passkey alone, the second step, refresh, the recovery
// calls); `api` adds the access token and renews it on 401 token_expired.
import {
  createPasskey,
  createPatientAuthClient,
  getPasskey,
  isErrorCode,
  isMfaRequired,
  mfaChangeBody,
  mfaVerifyBody,
  passkeyLoginBody,
  passkeyRegisterBody,
  passkeyRemoveBody,
  passkeysSupported,
  secondFactor,
  tokenFromFragment,
  type ErrorBody,
  type LoginResponse,
  type MfaRequired,
  type PasswordResetRequest,
  type SecondFactor,
} from "@patient-auth/client";
import { authorizedFetch } from "./authorized-fetch";
import { API_URL } from "./config";
import { h, show } from "./dom";
import { describeError, describeNetworkFailure, describePasskeyFailure, describePasskeyRefusal } from "./errors";
import { tabRefreshTokenStore } from "./refresh-token-store";
import { Session } from "./session";
import { isOk, type Answer as Answered, type Outcome } from "./views/forms";
import { passkeysSection, type PasskeyActions, type PasskeysSection } from "./views/passkeys";
import { profileView } from "./views/profile";
import { forgotPasswordView, resetPasswordView, verifyEmailView, type Sent, type VerifyState } from "./views/recovery";
import { secondStepView } from "./views/second-step";
import { sessionsView } from "./views/sessions";
import { signedOutView } from "./views/signed-out";
import { twoStepSection, type TwoStepActions, type TwoStepSection } from "./views/two-step";
import { verifyBanner } from "./views/verify-banner";

type Answer = { data?: unknown; error?: ErrorBody };

/** What to tell the patient once signed in, and (a reset) on the second step before that. */
interface SignInNotices {
  signedIn?: string;
  secondStep?: string;
}

/**
 * The paths the page answers. The server mails PUBLIC_APP_URL/reset-password#token=… and
 * …/verify-email#token=…, and its "password changed" notice links …/forgot-password; Vite
 * serves index.html for each (its SPA fallback). Everything else is the home page.
 */
const paths = {
  home: "/",
  forgotPassword: "/forgot-password",
  resetPassword: "/reset-password",
  verifyEmail: "/verify-email",
} as const;

export function startApp(root: HTMLElement): void {
  const publicApi = createPatientAuthClient({ baseUrl: API_URL });
  const session = new Session(publicApi, tabRefreshTokenStore, (reason) => showSignedOut(reason));
  const api = createPatientAuthClient({ baseUrl: API_URL, fetch: authorizedFetch(session) });
  // A mailed link's token, read as the page opens; it is gone from the address bar (and so from
  // the history) before anything is shown, and lives in this variable only.
  let link = takeLinkToken();

  function route(): void {
    switch (location.pathname) {
      case paths.forgotPassword:
        return showForgotPassword(emailFromHistory());
      case paths.resetPassword:
        return showResetPassword(link.path === paths.resetPassword ? link.token : null);
      case paths.verifyEmail:
        return showVerifyEmail(link.path === paths.verifyEmail ? link.token : null);
      default:
        if (session.accessToken !== null) void showSignedIn();
        else if (session.canResume) resume();
        else showSignedOut();
    }
  }

  function navigate(path: string, state: { email: string } | null = null): void {
    history.pushState(state, "", path);
    route();
  }

  /** The forms and the signed-in page are the home page, whichever path led to them. */
  function atHome(): void {
    if (location.pathname !== paths.home) history.replaceState(null, "", paths.home);
  }

  function showSignedOut(notice: string | null = null): void {
    atHome();
    show(
      root,
      signedOutView(notice, {
        login: (body) => signIn(() => publicApi.POST("/auth/login", { body })),
        register: (body) => signIn(() => publicApi.POST("/auth/register", { body })),
        forgotPassword: (email) => navigate(paths.forgotPassword, { email }),
        passkey: passkeysSupported() ? signInWithPasskey : null,
      }),
    );
  }

  /** A login, registration or reset: signed in, or (codes on) the second step first. */
  async function signIn(
    call: () => Promise<{ data?: LoginResponse; error?: ErrorBody }>,
    notices: SignInNotices = {},
  ): Promise<Outcome> {
    try {
      const { data, error } = await call();
      if (!data) return error ? withAdvice(error) : "Unexpected answer from the server.";
      if (isMfaRequired(data)) {
        showSecondStep(data, notices);
        return null;
      }
      session.begin(data);
      await showSignedIn(notices.signedIn ?? null);
      return null;
    } catch {
      return describeNetworkFailure();
    }
  }

  /** A passkey alone: the browser offers this site's passkeys that sign in without a password. */
  async function signInWithPasskey(): Promise<Outcome> {
    try {
      const options = await publicApi.POST("/auth/passkeys/login/options");
      if (!options.data) return options.error ?? "Unexpected answer from the server.";
      const assertion = await prompted(getPasskey(options.data));
      if (!isOk(assertion)) return assertion;
      const { data, error } = await publicApi.POST("/auth/passkeys/login", { body: passkeyLoginBody(assertion.ok) });
      if (data) {
        session.begin(data);
        await showSignedIn();
        return null;
      }
      // One answer for every refusal: a removed passkey, one for the second step only, another origin's.
      if (isErrorCode(error, "invalid_credentials")) {
        return "That passkey was not accepted for signing in. A passkey added as a second step needs your password first, and passkeys work only on this portal's own address.";
      }
      if (isErrorCode(error, "validation_failed")) return describePasskeyRefusal(error);
      return error ? withAdvice(error) : "Unexpected answer from the server.";
    } catch {
      return describeNetworkFailure();
    }
  }

  /** The mfa_token lives in this closure only: for one POST /auth/mfa/verify that succeeds. */
  function showSecondStep(step: MfaRequired, notices: SignInNotices): void {
    atHome();
    show(
      root,
      secondStepView(step.methods, notices.secondStep ?? null, {
        verify: (factor) => verifySecondFactor(step.mfa_token, factor, notices),
        passkey: () => verifyWithPasskey(step.mfa_token, notices),
        cancel: () => showSignedOut(),
      }),
    );
  }

  async function verifyWithPasskey(mfaToken: string, notices: SignInNotices): Promise<Outcome> {
    try {
      const { data, error } = await publicApi.POST("/auth/mfa/passkey/options", { body: { mfa_token: mfaToken } });
      if (!data) {
        if (isErrorCode(error, "invalid_token")) return tooLate();
        return error ?? "Unexpected answer from the server.";
      }
      const assertion = await prompted(getPasskey(data));
      return isOk(assertion) ? await verifySecondFactor(mfaToken, { passkey: assertion.ok }, notices) : assertion;
    } catch {
      return describeNetworkFailure();
    }
  }

  /** Used or past its 5 minutes: only a new login makes a new mfa_token. */
  function tooLate(): null {
    showSignedOut("That sign-in took too long (the second step must follow the password within 5 minutes). Please log in again.");
    return null;
  }

  async function verifySecondFactor(mfaToken: string, factor: SecondFactor, notices: SignInNotices): Promise<Outcome> {
    try {
      const { data, error } = await publicApi.POST("/auth/mfa/verify", {
        body: mfaVerifyBody({ mfa_token: mfaToken, ...factor }),
      });
      if (data) {
        session.begin(data);
        const byRecoveryCode =
          factor.recovery_code === undefined
            ? null
            : "You signed in with a recovery code, which now no longer works. Every other device has been signed out, and we have emailed you about it. Lost your phone? Turn two-step sign-in off and set it up again on a new one.";
        await showSignedIn([notices.signedIn, byRecoveryCode].filter(Boolean).join(" ") || null);
        return null;
      }
      if (isErrorCode(error, "invalid_token")) return tooLate();
      // The mfa_token still works: the patient may try again here.
      if (isErrorCode(error, "invalid_credentials")) {
        if (factor.passkey !== undefined) return "That passkey is not one of this account's. Use one you added to it, or another way below.";
        return factor.recovery_code === undefined
          ? "That code is not right, or was used already. Enter the code your app shows now."
          : "That recovery code is not right, or was used already.";
      }
      if (factor.passkey !== undefined && isErrorCode(error, "validation_failed")) return describePasskeyRefusal(error);
      return error ?? "Unexpected answer from the server.";
    } catch {
      return describeNetworkFailure();
    }
  }

  async function requestReset(body: PasswordResetRequest): Promise<Sent | Outcome> {
    try {
      const { data, error } = await publicApi.POST("/auth/password-reset/request", { body });
      if (data) return { sent: data.message };
      return error ?? "Unexpected answer from the server.";
    } catch {
      return describeNetworkFailure();
    }
  }

  function showForgotPassword(email: string): void {
    show(root, forgotPasswordView(email, { requestReset, back: () => navigate(paths.home) }));
  }

  function showResetPassword(token: string | null): void {
    show(
      root,
      resetPasswordView(token, {
        requestReset,
        back: () => navigate(paths.home),
        confirm: (new_password) =>
          token === null
            ? Promise.resolve("This page needs the link from the email.")
            : signIn(() => publicApi.POST("/auth/password-reset/confirm", { body: { token, new_password } }), {
                signedIn: "Your new password is set. You are signed in here, and signed out on every other device.",
                secondStep: "Your new password is set, and every other device is signed out. One more step signs you in here.",
              }),
      }),
    );
  }

  function showVerifyEmail(token: string | null): void {
    const home = { label: session.canResume ? "Continue to your profile" : "Log in", go: () => navigate(paths.home) };
    if (token === null) return show(root, verifyEmailView({ kind: "missing" }, home));
    show(root, verifyEmailView({ kind: "checking" }, home));
    void verify(token).then((state) => {
      // A link works once: going back to this page must not send its token again.
      if (state.kind === "verified" || state.kind === "refused") link.token = null;
      if (location.pathname !== paths.verifyEmail) return;
      const next = state.kind === "failed" ? { label: "Try again", go: () => showVerifyEmail(token) } : home;
      show(root, verifyEmailView(state, next));
    });
  }

  async function verify(token: string): Promise<VerifyState> {
    try {
      const { data, error } = await publicApi.POST("/auth/verify-email", { body: { token } });
      if (data) return { kind: "verified" };
      if (isErrorCode(error, "invalid_reset_token")) return { kind: "refused", message: error.message };
      return { kind: "failed", message: error ? describeError(error) : "Unexpected answer from the server." };
    } catch {
      return { kind: "failed", message: describeNetworkFailure() };
    }
  }

  async function showSignedIn(notice: string | null = null): Promise<void> {
    atHome();
    const status = h("p", { class: "error", role: "alert", "data-testid": "status" });
    const renews = h("span", { class: "muted", "data-testid": "renews-at" });
    const reload = h("button", { type: "button", class: "secondary", "data-testid": "reload" }, "Reload");
    const logout = h("button", { type: "button", "data-testid": "logout" }, "Log out");
    const content = h("div", { "data-testid": "signed-in" });
    // Made at the first load and kept: a reload must not take away a setup under way (or the
    // recovery codes of a first passkey).
    let twoStep: TwoStepSection | null = null;
    let passkeys: PasskeysSection | null = null;
    const toolbar = h("div", { class: "toolbar" }, renews, reload, logout);
    if (notice) show(root, toolbar, h("p", { class: "notice", role: "status", "data-testid": "signed-in-notice" }, notice), status, content);
    else show(root, toolbar, status, content);

    // Both calls at once: when the access token has expired, they share one renewal.
    const load = async (): Promise<void> => {
      status.textContent = "";
      try {
        const [me, sessions, mfa, keys] = await Promise.all([
          api.GET("/auth/me"),
          api.GET("/auth/sessions"),
          api.GET("/auth/mfa"),
          api.GET("/auth/passkeys"),
        ]);
        if (!me.data) return failed(me);
        if (!sessions.data) return failed(sessions);
        if (!mfa.data) return failed(mfa);
        if (!keys.data) return failed(keys);
        const profile = profileView(me.data);
        const list = sessionsView(sessions.data.sessions, endSession);
        if (twoStep) twoStep.update(mfa.data);
        else twoStep = twoStepSection(mfa.data, twoStepActions);
        if (passkeys) passkeys.update(keys.data.passkeys, mfa.data);
        else passkeys = passkeysSection(keys.data.passkeys, mfa.data, passkeysSupported(), passkeyActions);
        const sections = [profile, twoStep.element, passkeys.element, list];
        if (me.data.email_verified) show(content, ...sections);
        else show(content, verifyBanner(me.data.email, resendVerification), ...sections);
        renews.textContent = session.renewsAt ? `Access token renews at ${session.renewsAt.toLocaleTimeString()}` : "";
      } catch {
        status.textContent = describeNetworkFailure();
      }
    };

    const endSession = (sessionId: string): void => {
      void api
        .DELETE("/auth/sessions/{session_id}", { params: { path: { session_id: sessionId } } })
        .then((answer) => (answer.error ? failed(answer) : load()), () => (status.textContent = describeNetworkFailure()));
    };

    /** The server's 202 message ("on its way", or "verified already"), or the problem. */
    const resendVerification = async (): Promise<string | null> => {
      try {
        const answer = await api.POST("/auth/verify-email/resend");
        const code = answer.response.status;
        if (answer.data) return answer.data.message;
        if (code === 401) {
          failed(answer);
          return null;
        }
        return answer.error ? describeError(answer.error) : `Unexpected ${code}.`;
      } catch {
        return describeNetworkFailure();
      }
    };

    /**
     * The second step's calls: the answer, or what the section shows. A 401 other than a wrong
     * password or code means the session ended (failed() shows the forms; null: nothing to show).
     */
    const settle = async <T>(call: Promise<{ data?: T; error?: ErrorBody; response: Response }>): Promise<Answered<T>> => {
      try {
        const answer = await call;
        if (answer.data !== undefined) return { ok: answer.data };
        if (answer.response.status === 401 && !isErrorCode(answer.error, "invalid_credentials")) {
          failed(answer);
          return null;
        }
        return answer.error ?? `Unexpected ${answer.response.status}.`;
      } catch {
        return describeNetworkFailure();
      }
    };
    /** One of the patient's passkeys as the fresh factor of a change (its options name them all). */
    const passkeyFactor = async (): Promise<Answered<SecondFactor>> => {
      const options = await settle(api.POST("/auth/passkeys/assertion-options"));
      if (!isOk(options)) return options;
      const assertion = await prompted(getPasskey(options.ok));
      return isOk(assertion) ? { ok: { passkey: assertion.ok } } : assertion;
    };
    /** A passkey answer the server refused as not fitting (422) is said in words; the rest as it came. */
    const passkeyRefusal = <T>(answer: Answered<T>): Answered<T> =>
      isErrorCode(answer, "validation_failed") ? describePasskeyRefusal(answer) : answer;
    const twoStepActions: TwoStepActions = {
      status: async () => {
        const answer = await settle(api.GET("/auth/mfa"));
        // The passkeys section labels its code field by whether the app's codes are on.
        if (isOk(answer)) passkeys?.updateStatus(answer.ok);
        return answer;
      },
      setup: () => settle(api.POST("/auth/mfa/totp/setup")),
      confirm: (code) => settle(api.POST("/auth/mfa/totp/confirm", { body: { code } })),
      turnOff: async (request) => passkeyRefusal(await settle(api.POST("/auth/mfa/totp/disable", { body: mfaChangeBody(request) }))),
      newRecoveryCodes: async (request) =>
        passkeyRefusal(await settle(api.POST("/auth/mfa/recovery-codes", { body: mfaChangeBody(request) }))),
      secondFactor,
      passkey: passkeyFactor,
    };
    const passkeyActions: PasskeyActions = {
      add: async (password, passwordless, name) => {
        const options = await settle(api.POST("/auth/passkeys/register/options", { body: { password, passwordless } }));
        if (!isOk(options)) return options;
        const registration = await prompted(createPasskey(options.ok));
        if (!isOk(registration)) return registration;
        const body = passkeyRegisterBody(registration.ok, name === "" ? undefined : name);
        return passkeyRefusal(await settle(api.POST("/auth/passkeys/register", { body })));
      },
      remove: async (request) => passkeyRefusal(await settle(api.POST("/auth/passkeys/remove", { body: passkeyRemoveBody(request) }))),
      secondFactor,
      passkey: passkeyFactor,
      changed: () => load(),
    };

    /** A 401 after the renewal means the session was ended elsewhere: back to the forms. */
    const failed = (answer: Answer & { response: Response }): void => {
      if (answer.response.status === 401) {
        session.end();
        showSignedOut("Your session has ended. Please sign in again.");
      } else {
        status.textContent = answer.error ? describeError(answer.error) : `Unexpected ${answer.response.status}.`;
      }
    };

    reload.addEventListener("click", () => void load());
    logout.addEventListener("click", () => {
      logout.disabled = true;
      // Whatever the server answers, this tab forgets its tokens.
      void api
        .POST("/auth/logout")
        .catch(() => undefined)
        .finally(() => {
          session.end();
          showSignedOut("You are logged out.");
        });
    });
    await load();
  }

  // After a reload the access token is gone (memory only), but the tab kept its refresh token.
  function resume(): void {
    void session.refresh().then((outcome) => {
      if (outcome === "refreshed") void showSignedIn();
      else if (outcome === "unavailable") showCannotResume();
    });
  }

  /** The refresh token is kept: the patient may try again, or sign in anew. */
  function showCannotResume(): void {
    const again = h("button", { type: "button", "data-testid": "resume" }, "Try again");
    again.addEventListener("click", resume);
    const problem =
      session.problem === "unreachable"
        ? describeNetworkFailure()
        : "Your session could not be restored yet: the server is busy or limiting attempts from this address.";
    show(root, h("p", { class: "notice", "data-testid": "notice" }, problem, " ", again));
  }

  // Back and forward; and a link opened in a tab already on its page, which changes only the
  // fragment (no page load): popstate, then hashchange, whose fragment the first has taken.
  const navigated = (event: Event): void => {
    if (tokenFromFragment(location.hash) !== null) link = takeLinkToken();
    else if (event.type === "hashchange") return;
    route();
  };
  addEventListener("popstate", navigated);
  addEventListener("hashchange", navigated);
  route();
}

/** The browser's passkey prompt: its answer, or why there is none in words for the patient. */
async function prompted<T>(prompt: Promise<T>): Promise<{ ok: T } | string> {
  try {
    return { ok: await prompt };
  } catch (error) {
    return describePasskeyFailure(error);
  }
}

/** Takes `#token=…` out of the address bar; answers it with the path it came with. */
function takeLinkToken(): { path: string; token: string | null } {
  const token = tokenFromFragment(location.hash);
  if (token !== null) history.replaceState(null, "", location.pathname + location.search);
  return { path: location.pathname, token };
}

function emailFromHistory(): string {
  const state: unknown = history.state;
  return typeof state === "object" && state !== null && "email" in state && typeof state.email === "string"
    ? state.email
    : "";
}

/** email_not_verified says to ask for a new link; without a session, "Forgot password?" is how. */
function withAdvice(error: ErrorBody): ErrorBody {
  if (!isErrorCode(error, "email_not_verified")) return error;
  return {
    ...error,
    message: `${error.message} To get a new link, use “Forgot password?”: choosing a new password from its link confirms the address too.`,
  };
}
