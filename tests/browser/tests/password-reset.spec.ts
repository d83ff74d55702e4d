// Forgot password: the reset link comes by mail through a real SMTP server (run.sh), opens the
// example, and the new password signs the patient in here and out everywhere else.
import { randomUUID } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { env } from "./env";
import { linkIn, noMailServer, waitForMail } from "./mail";
import { logIn, newPatient, register } from "./patients";
import { keepScreenshot } from "./screenshots";

/** CSP violations and script errors (4xx answers are expected here, and logged by Chromium). */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return problems;
}

test("a patient resets a forgotten password from the mailed link; the other device is signed out", async ({ browser }, testInfo) => {
  test.skip(env.mailDir === null, noMailServer);
  const patient = newPatient("Layla Mansour");
  const laptop = await browser.newContext();
  const tablet = await browser.newContext({ userAgent: "PatientTablet/1.0" });
  const onLaptop = await laptop.newPage();
  const onTablet = await tablet.newPage();
  const problems = watchProblems(onLaptop);

  await onLaptop.goto(env.appUrl);
  await register(onLaptop, patient);
  // The tablet's timers stand still, so its planned renewal cannot run first: the next call it
  // makes is the one below, with the access token it has now (60 s of life).
  await onTablet.clock.install();
  await onTablet.goto(env.appUrl);
  await logIn(onTablet, patient);
  await onTablet.clock.pauseAt(Date.now() + 1_000);
  await expect(onLaptop.getByTestId("reload")).toBeVisible();

  // On the laptop: log out, and the password is forgotten.
  await onLaptop.getByTestId("logout").click();
  await expect(onLaptop.getByTestId("notice")).toHaveText("You are logged out.");
  await onLaptop.getByTestId("login-form").getByLabel("Email or username").fill(patient.email);
  await onLaptop.getByRole("link", { name: "Forgot password?" }).click();
  await expect(onLaptop).toHaveURL(`${env.appUrl}/forgot-password`);
  const forgot = onLaptop.getByTestId("forgot-form");
  await expect(forgot.getByLabel("Email")).toHaveValue(patient.email);
  await forgot.getByRole("button", { name: "Email me a link" }).click();
  await expect(forgot.getByTestId("forgot-sent")).toHaveText(
    "If an account uses this address, a link to choose a new password is on its way.",
  );
  await keepScreenshot(onLaptop, testInfo, "forgot-password");

  const mail = await waitForMail(patient.email, "Reset your password");
  const link = linkIn(mail, "/reset-password");
  await onLaptop.goto(link);
  const reset = onLaptop.getByTestId("reset-form");
  await expect(reset).toBeVisible();
  // The token is out of the address bar (and the history) as soon as the page has read it.
  expect(onLaptop.url()).toBe(`${env.appUrl}/reset-password`);

  // One of the most common passwords: refused under its field, and the link still works.
  const newPasswordInput = reset.getByLabel("New password");
  await newPasswordInput.fill("password");
  await reset.getByRole("button", { name: "Set new password" }).click();
  await expect(reset.getByTestId("field-error")).not.toBeEmpty();
  await expect(newPasswordInput).toHaveAttribute("aria-invalid", "true");
  await expect(reset.getByRole("alert")).toHaveText("Some fields are missing or invalid.");
  await keepScreenshot(onLaptop, testInfo, "reset-password-refused");

  const newPassword = `new-${randomUUID()}`;
  await newPasswordInput.fill(newPassword);
  await reset.getByRole("button", { name: "Set new password" }).click();
  await expect(onLaptop.getByTestId("profile")).toContainText(patient.email);
  await expect(onLaptop.getByTestId("signed-in-notice")).toContainText("Your new password is set.");
  expect(onLaptop.url()).toBe(`${env.appUrl}/`);
  // The link proved the mailbox: the address is verified, so no banner.
  await expect(onLaptop.getByTestId("verify-banner")).toHaveCount(0);
  // The reset ended every earlier session; only this new one is left.
  await expect(onLaptop.getByTestId("session")).toHaveCount(1);
  expect(await onLaptop.evaluate(() => Object.keys(sessionStorage))).toEqual(["patient-auth.refresh-token"]);
  await keepScreenshot(onLaptop, testInfo, "reset-password-signed-in");

  // The tablet's next call meets 401 token_revoked, and it shows the forms.
  const refused = onTablet.waitForResponse((r) => r.url() === `${env.apiUrl}/auth/me` && r.request().method() === "GET");
  await onTablet.getByTestId("reload").click();
  const answer = await refused;
  expect(answer.status()).toBe(401);
  expect(((await answer.json()) as { error: string }).error).toBe("token_revoked");
  await expect(onTablet.getByTestId("notice")).toHaveText("Your session has ended. Please sign in again.");
  await expect(onTablet.getByTestId("login-form")).toBeVisible();
  expect(await onTablet.evaluate(() => sessionStorage.length)).toBe(0);
  await keepScreenshot(onTablet, testInfo, "reset-password-other-device");

  // There, the old password no longer works, the new one does.
  const login = onTablet.getByTestId("login-form");
  await login.getByLabel("Email or username").fill(patient.email);
  await login.getByLabel("Password").fill(patient.password);
  await login.getByRole("button", { name: "Log in" }).click();
  await expect(login.getByRole("alert")).not.toBeEmpty();
  await expect(onTablet.getByTestId("profile")).toHaveCount(0);
  await logIn(onTablet, { ...patient, password: newPassword });

  // The patient is told by mail, with the way back if it was not them.
  const notice = await waitForMail(patient.email, "Your password was changed");
  expect(notice.text).toContain(`${env.appUrl}/forgot-password`);

  // The link works once: opened again, it says so and offers a new one.
  await onLaptop.goto(link);
  await onLaptop.getByTestId("reset-form").getByLabel("New password").fill(`again-${randomUUID()}`);
  await onLaptop.getByTestId("reset-form").getByRole("button", { name: "Set new password" }).click();
  await expect(onLaptop.getByTestId("reset-invalid")).toContainText("This link is not valid");
  await expect(onLaptop.getByTestId("forgot-form")).toBeVisible();
  await keepScreenshot(onLaptop, testInfo, "reset-password-used-link");

  expect(problems).toEqual([]);
  await laptop.close();
  await tablet.close();
});

test("/reset-password without a token (as after a reload) offers to mail a new link", async ({ page }) => {
  await page.goto(`${env.appUrl}/reset-password`);
  await expect(page.getByTestId("reset-no-token")).toBeVisible();
  await expect(page.getByTestId("forgot-form")).toBeVisible();
  await page.getByRole("link", { name: "Back to log in" }).click();
  await expect(page).toHaveURL(`${env.appUrl}/`);
  await expect(page.getByTestId("login-form")).toBeVisible();
  // The browser's Back button returns to the page it came from.
  await page.goBack();
  await expect(page.getByTestId("reset-no-token")).toBeVisible();
});

test("a login refused with 403 email_not_verified says how to get a new link", async ({ page }) => {
  // What a server with REQUIRE_VERIFIED_EMAIL=true answers an unverified address's right password.
  await page.route(`${env.apiUrl}/auth/login`, (route) =>
    route.fulfill({
      status: 403,
      contentType: "application/json",
      headers: { "Access-Control-Allow-Origin": env.appUrl },
      body: JSON.stringify({
        error: "email_not_verified",
        message:
          "Confirm your email address first: follow the link we mailed you. Lost it? A password reset ('Forgot password?') mails a link that confirms the address too.",
      }),
    }),
  );
  await page.goto(env.appUrl);
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email or username").fill("someone@example.com");
  await form.getByLabel("Password").fill("the-right-password");
  await form.getByRole("button", { name: "Log in" }).click();
  await expect(form.getByRole("alert")).toContainText("Confirm your email address first");
  await expect(form.getByRole("alert")).toContainText("use “Forgot password?”");
});
