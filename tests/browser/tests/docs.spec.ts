// /docs as a new user meets it: Swagger UI renders every operation from this server's own files,
// under its strict CSP, and "Try it out" calls the API.
import { expect, test } from "@playwright/test";
import { env } from "./env";
import { keepScreenshot } from "./screenshots";

test("/docs shows the API and its Try it out calls the server", async ({ page }, testInfo) => {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("requestfailed", (request) => problems.push(`failed: ${request.url()}`));
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(env.apiUrl)) foreign.push(request.url());
  });

  await page.goto(`${env.apiUrl}/docs`);
  for (const path of ["/auth/register", "/auth/login", "/auth/me", "/auth/sessions/{session_id}", "/ready"]) {
    await expect(page.locator(".opblock-summary-path", { hasText: path }).first()).toBeVisible();
  }

  const health = page.locator(".opblock").filter({ has: page.locator(".opblock-summary-path", { hasText: /^\/health$/ }) });
  await health.locator(".opblock-summary").click();
  // The page opens operations ready to execute; an older setting would need "Try it out" first.
  const tryItOut = health.getByRole("button", { name: "Try it out" });
  if (await tryItOut.isVisible()) await tryItOut.click();
  const answered = page.waitForResponse((response) => response.url() === `${env.apiUrl}/health`);
  await health.getByRole("button", { name: "Execute" }).click();
  expect((await answered).status()).toBe(200);
  await expect(health.locator(".live-responses-table tbody .response-col_status").first()).toContainText("200");
  await expect(health.locator(".live-responses-table")).toContainText('"status": "ok"');

  await keepScreenshot(page, testInfo, "docs");
  expect(foreign, "everything comes from this server").toEqual([]);
  expect(problems, "no console errors, CSP violations or failed loads").toEqual([]);
});
