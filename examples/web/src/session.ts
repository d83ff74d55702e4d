// The signed-in state of this tab: the access token in memory only, the refresh token in the
// tab's store, and the renewal of both.
//
// - begin() starts a session from a token response and schedules the renewal
//   REFRESH_MARGIN_SECONDS before the access token expires.
// - refresh() renews it; calls made while a renewal is in flight share it. This matters: the
//   server accepts each refresh token once, and one presented again more than a couple of
//   seconds after its use is taken for theft and ends the whole session.
// - When the server refuses the refresh token (401), the session is over: onEnded is told why.
//   When it cannot answer (network, 429, 503), the refresh token is kept for another try.
import type { PatientAuthClient, TokenResponse } from "@patient-auth/client";
import { REFRESH_MARGIN_SECONDS, REFRESH_RETRY_SECONDS } from "./config";
import type { RefreshTokenStore } from "./refresh-token-store";

export type RefreshOutcome = "refreshed" | "ended" | "unavailable";
/** Why a refresh was "unavailable": no answer at all, or 429 / 503. */
export type RefreshProblem = "unreachable" | "busy";

export class Session {
  readonly #api: PatientAuthClient;
  readonly #store: RefreshTokenStore;
  readonly #onEnded: (reason: string) => void;
  #accessToken: string | null = null;
  #renewsAt: Date | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<RefreshOutcome> | null = null;
  #problem: RefreshProblem | null = null;

  /** `api` must be a client that sends no Authorization header (refresh needs none). */
  constructor(api: PatientAuthClient, store: RefreshTokenStore, onEnded: (reason: string) => void) {
    this.#api = api;
    this.#store = store;
    this.#onEnded = onEnded;
  }

  get accessToken(): string | null {
    return this.#accessToken;
  }

  /** When the next renewal is planned (null when signed out). */
  get renewsAt(): Date | null {
    return this.#renewsAt;
  }

  /** Why the last refresh answered "unavailable". */
  get problem(): RefreshProblem | null {
    return this.#problem;
  }

  /** True when this tab holds a refresh token, e.g. after a reload. */
  get canResume(): boolean {
    return this.#store.read() !== null;
  }

  begin(tokens: TokenResponse): void {
    this.#accessToken = tokens.token;
    this.#store.write(tokens.refresh_token);
    const expiresIn = tokens.expires_in;
    const seconds = expiresIn > 2 * REFRESH_MARGIN_SECONDS ? expiresIn - REFRESH_MARGIN_SECONDS : expiresIn / 2;
    this.#schedule(seconds);
  }

  refresh(): Promise<RefreshOutcome> {
    this.#inFlight ??= this.#refreshOnce().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** Forgets every token of this tab (after a logout, or when the server ended the session). */
  end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#renewsAt = null;
    this.#accessToken = null;
    this.#store.clear();
  }

  async #refreshOnce(): Promise<RefreshOutcome> {
    const refreshToken = this.#store.read();
    if (refreshToken === null) {
      this.#over("You are signed out.");
      return "ended";
    }
    this.#problem = null;
    try {
      const { data, response } = await this.#api.POST("/auth/refresh", {
        body: { refresh_token: refreshToken },
      });
      if (data) {
        this.begin(data);
        return "refreshed";
      }
      if (response.status === 401) {
        this.#over("Your session has ended. Please sign in again.");
        return "ended";
      }
      // 429 (too many attempts from this address) or 503: the server says when to come back.
      const retryAfter = Number(response.headers.get("Retry-After"));
      return this.#unavailable("busy", retryAfter > 0 ? retryAfter : REFRESH_RETRY_SECONDS);
    } catch {
      return this.#unavailable("unreachable", REFRESH_RETRY_SECONDS);
    }
  }

  /** Keeps the refresh token; a live session tries again later, a tab being restored waits to be asked. */
  #unavailable(problem: RefreshProblem, retryInSeconds: number): RefreshOutcome {
    this.#problem = problem;
    if (this.#accessToken !== null) this.#schedule(retryInSeconds);
    return "unavailable";
  }

  #over(reason: string): void {
    this.end();
    this.#onEnded(reason);
  }

  #schedule(seconds: number): void {
    clearTimeout(this.#timer);
    this.#renewsAt = new Date(Date.now() + seconds * 1000);
    // setTimeout fires at once beyond 2^31 - 1 ms (24.8 days): cap the wait.
    this.#timer = setTimeout(() => void this.refresh(), Math.min(seconds * 1000, 2 ** 31 - 1));
  }
}
