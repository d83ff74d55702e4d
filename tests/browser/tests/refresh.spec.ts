// Renewing the access token (the server runs with JWT_EXP_MINUTES=1 and no leeway): before it
// expires while the tab is awake, and on 401 token_expired when the tab slept through it.
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "@playwright/test";
import { env } from "./env";
import { newPatient, register } from "./patients";
import { watchApi } from "./traffic";

const lifetime = env.accessTokenSeconds * 1000;

test("the access token is renewed 30 s before it expires, so no call ever meets a 401", async ({ page }) => {
  const api = watchApi(page);
  await page.goto(env.appUrl);
  await register(page, newPatient());
  const signedIn = Date.now();

  await page.waitForResponse((r) => r.url() === `${env.apiUrl}/auth/refresh` && r.status() === 200, {
    timeout: lifetime,
  });
  const seconds = (Date.now() - signedIn) / 1000;
  expect(seconds).toBeGreaterThan(25);
  expect(seconds).toBeLessThan(40);

  // Past the first token's expiry (and the second renewal, 30 s later) the page still works.
  await sleep(signedIn + lifetime + 5_000 - Date.now());
  await page.getByTestId("reload").click();
  await expect(page.getByTestId("profile")).toBeVisible();
  await expect.poll(() => api.answers("GET /auth/me", 200)).toBe(2);
  expect(api.answers("POST /auth/refresh", 200)).toBe(2);
  expect(api.answers("GET /auth/me", 401) + api.answers("GET /auth/sessions", 401)).toBe(0);
});

test("after the tab slept past expiry, two calls meet 401 token_expired, share one refresh and are retried", async ({ page }) => {
  await page.clock.install();
  const api = watchApi(page);
  await page.goto(env.appUrl);
  await register(page, newPatient());

  // A sleeping laptop: the page's timers stop, so the planned renewal never runs.
  await page.clock.pauseAt(Date.now() + 1_000);
  await sleep(lifetime + 2_000);

  // Reload fetches the profile and the sessions at once; both meet the expired token.
  await page.getByTestId("reload").click();
  await expect.poll(() => api.answers("GET /auth/me", 200)).toBe(2);
  await expect.poll(() => api.answers("GET /auth/sessions", 200)).toBe(2);
  expect(api.answers("GET /auth/me", 401)).toBe(1);
  expect(api.answers("GET /auth/sessions", 401)).toBe(1);
  expect(api.requests("POST /auth/refresh")).toBe(1);
  await expect(page.getByTestId("profile")).toBeVisible();
  await expect(page.getByTestId("notice")).toHaveCount(0);

  // The session survived (a duplicate refresh would have been taken for theft).
  await page.getByTestId("reload").click();
  await expect.poll(() => api.answers("GET /auth/me", 200)).toBe(3);
  expect(api.requests("POST /auth/refresh")).toBe(1);
});
