// The refresh token lives in this tab's sessionStorage: it survives a reload of the tab and is
// gone when the tab closes. Never localStorage: that outlives the browser session (a shared or
// family computer keeps the patient signed in for two weeks) and is read by any script on the
// origin long after. The access token is never stored at all (see session.ts).

const KEY = "patient-auth.refresh-token";

export interface RefreshTokenStore {
  read(): string | null;
  write(token: string): void;
  clear(): void;
}

export const tabRefreshTokenStore: RefreshTokenStore = {
  read: () => sessionStorage.getItem(KEY),
  write: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};
