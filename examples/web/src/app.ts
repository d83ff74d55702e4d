// What the page does: the signed-out forms, or the signed-in page (profile, sessions, the
// planned renewal, log out). Two clients: `publicApi` sends no token (register, log in,
// refresh); `api` adds the access token and renews it on 401 token_expired.
import { createPatientAuthClient, type ErrorBody, type TokenResponse } from "@patient-auth/client";
import { authorizedFetch } from "./authorized-fetch";
import { API_URL } from "./config";
import { h, show } from "./dom";
import { describeError, describeNetworkFailure } from "./errors";
import { tabRefreshTokenStore } from "./refresh-token-store";
import { Session } from "./session";
import { profileView } from "./views/profile";
import { sessionsView } from "./views/sessions";
import { signedOutView } from "./views/signed-out";

type Answer = { data?: unknown; error?: ErrorBody };

export function startApp(root: HTMLElement): void {
  const publicApi = createPatientAuthClient({ baseUrl: API_URL });
  const session = new Session(publicApi, tabRefreshTokenStore, (reason) => showSignedOut(reason));
  const api = createPatientAuthClient({ baseUrl: API_URL, fetch: authorizedFetch(session) });

  function showSignedOut(notice: string | null = null): void {
    show(
      root,
      signedOutView(notice, {
        login: (body) => signIn(() => publicApi.POST("/auth/login", { body })),
        register: (body) => signIn(() => publicApi.POST("/auth/register", { body })),
      }),
    );
  }

  async function signIn(call: () => Promise<{ data?: TokenResponse; error?: ErrorBody }>): Promise<string | null> {
    try {
      const { data, error } = await call();
      if (!data) return error ? describeError(error) : "Unexpected answer from the server.";
      session.begin(data);
      await showSignedIn();
      return null;
    } catch {
      return describeNetworkFailure();
    }
  }

  async function showSignedIn(): Promise<void> {
    const status = h("p", { class: "error", role: "alert", "data-testid": "status" });
    const renews = h("span", { class: "muted", "data-testid": "renews-at" });
    const reload = h("button", { type: "button", class: "secondary", "data-testid": "reload" }, "Reload");
    const logout = h("button", { type: "button", "data-testid": "logout" }, "Log out");
    const content = h("div", { "data-testid": "signed-in" });
    show(root, h("div", { class: "toolbar" }, renews, reload, logout), status, content);

    // Both calls at once: when the access token has expired, they share one renewal.
    const load = async (): Promise<void> => {
      status.textContent = "";
      try {
        const [me, sessions] = await Promise.all([api.GET("/auth/me"), api.GET("/auth/sessions")]);
        if (!me.data || !sessions.data) return failed(me.data ? sessions : me);
        show(content, profileView(me.data), sessionsView(sessions.data.sessions, endSession));
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

  if (session.canResume) resume();
  else showSignedOut();
}
