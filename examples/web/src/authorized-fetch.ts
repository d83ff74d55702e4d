// The fetch the signed-in client uses: adds the access token, and when the server answers
// 401 token_expired (the tab slept through the planned renewal, or the clock drifted) renews
// the tokens once and retries the request once. Other 401s (token_revoked, invalid_token) are
// final: the session was ended elsewhere.
import type { Session } from "./session";

export function authorizedFetch(session: Session): (request: Request) => Promise<Response> {
  return async (request) => {
    const retry = request.clone();
    const sentWith = session.accessToken;
    const response = await fetch(withBearer(request, sentWith));
    if (response.status !== 401 || (await errorCode(response)) !== "token_expired") {
      return response;
    }
    // A request that failed alongside this one may have renewed the token already.
    if (session.accessToken === sentWith && (await session.refresh()) !== "refreshed") {
      return response;
    }
    return fetch(withBearer(retry, session.accessToken));
  };
}

function withBearer(request: Request, token: string | null): Request {
  if (token !== null) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    if (typeof body === "object" && body !== null && "error" in body && typeof body.error === "string") {
      return body.error;
    }
  } catch {
    // not the contract's JSON error body
  }
  return undefined;
}
