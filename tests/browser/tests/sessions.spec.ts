// Sessions: ending another device's, and what a reload or a new tab keeps.
import { expect, test } from "@playwright/test";
import { env } from "./env";
import { logIn, newPatient, register } from "./patients";
import { watchApi } from "./traffic";

test("a patient ends another device's session from the list; that device is signed out", async ({ browser }) => {
  const patient = newPatient();
  const phone = await browser.newContext({ userAgent: "PatientPhone/1.0" });
  const laptop = await browser.newContext();
  const onPhone = await phone.newPage();
  const onLaptop = await laptop.newPage();
  await onPhone.goto(env.appUrl);
  await register(onPhone, patient);
  await onLaptop.goto(env.appUrl);
  await logIn(onLaptop, patient);

  const sessions = onLaptop.getByTestId("session");
  await expect(sessions).toHaveCount(2);
  await sessions.filter({ hasText: "PatientPhone/1.0" }).getByRole("button", { name: "End this session" }).click();
  await expect(sessions).toHaveCount(1);
  await expect(sessions.first()).toHaveAttribute("data-current", "true");

  await onPhone.getByTestId("reload").click();
  await expect(onPhone.getByTestId("notice")).toHaveText("Your session has ended. Please sign in again.");
  expect(await onPhone.evaluate(() => sessionStorage.length)).toBe(0);
  await phone.close();
  await laptop.close();
});

test("a reload keeps the tab signed in with one refresh; a new tab starts signed out", async ({ context, page }) => {
  const api = watchApi(context);
  await page.goto(env.appUrl);
  await register(page, newPatient());

  await page.reload();
  await expect(page.getByTestId("profile")).toBeVisible();
  expect(api.answers("POST /auth/refresh", 200)).toBe(1);

  const newTab = await context.newPage();
  await newTab.goto(env.appUrl);
  await expect(newTab.getByTestId("login-form")).toBeVisible();
  expect(await newTab.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
});

test("a reload while the server turns refreshes away (429) keeps the refresh token and offers to try again", async ({ page }) => {
  await page.goto(env.appUrl);
  await register(page, newPatient());

  // What a patient behind a busy shared address meets with the default rate limits.
  await page.route(`${env.apiUrl}/auth/refresh`, (route) =>
    route.fulfill({
      status: 429,
      contentType: "application/json",
      headers: { "Access-Control-Allow-Origin": env.appUrl, "Retry-After": "30" },
      body: JSON.stringify({ error: "rate_limited", message: "Too many attempts." }),
    }),
  );
  await page.reload();
  await expect(page.getByTestId("notice")).toContainText("could not be restored yet");
  expect(await page.evaluate(() => sessionStorage.length)).toBe(1);

  await page.unroute(`${env.apiUrl}/auth/refresh`);
  await page.getByTestId("resume").click();
  await expect(page.getByTestId("profile")).toBeVisible();
});
