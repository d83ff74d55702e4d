// The whole first visit: register, a full profile, the sessions list, log out, log in again.
import { expect, test } from "@playwright/test";
import { env } from "./env";
import { giveDemoData, logIn, newPatient, register } from "./patients";
import { keepScreenshot } from "./screenshots";
import { watchApi } from "./traffic";

test("register, see the profile with doctor, caregiver and prescriptions, list sessions, log out, log in", async ({ page }, testInfo) => {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  const api = watchApi(page);
  const patient = newPatient();

  await page.goto(env.appUrl);
  await register(page, patient);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("doctor")).toContainText("No doctor assigned yet.");

  // The operator assigns a doctor, a caregiver and prescriptions; the patient reloads.
  giveDemoData(patient);
  await page.getByTestId("reload").click();
  await expect(page.getByTestId("doctor")).toContainText("Dr. Sara Hassan");
  await expect(page.getByTestId("caregiver")).toContainText("Omar Ali");
  await expect(page.getByTestId("prescriptions").locator("tbody tr")).toHaveCount(3);
  await expect(page.getByTestId("session")).toHaveCount(1);
  await expect(page.getByTestId("session").first()).toHaveAttribute("data-current", "true");
  await expect(page.getByTestId("renews-at")).toContainText("Access token renews at");

  await keepScreenshot(page, testInfo, "profile");
  await page.setViewportSize({ width: 390, height: 844 });
  await keepScreenshot(page, testInfo, "profile-narrow");

  // The access token is in memory only; the tab's sessionStorage holds the refresh token.
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: Object.keys(sessionStorage) }));
  expect(stored).toEqual({ local: 0, session: ["patient-auth.refresh-token"] });

  await page.getByTestId("logout").click();
  await expect(page.getByTestId("notice")).toHaveText("You are logged out.");
  expect(api.answers("POST /auth/logout", 200)).toBe(1);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await page.reload();
  await expect(page.getByTestId("login-form")).toBeVisible();

  await logIn(page, patient);
  await expect(page.getByTestId("prescriptions").locator("tbody tr")).toHaveCount(3);
  // No CSP violation, script error or warning on the way (the page logs nothing of its own).
  expect(problems).toEqual([]);
});
