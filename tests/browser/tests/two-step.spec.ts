// Two-step sign-in: a patient turns on authenticator-app codes from the profile (the test is the
// app: it reads the secret the page shows and makes the codes itself, tests/totp.ts), then signs
// in with the password and a code, or a recovery code; turning codes off and new recovery codes
// take the password and a code; and a password reset still asks for the second step.
import { randomUUID } from "node:crypto";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { amrOf, logOut, watchProblems } from "./checks";
import { env } from "./env";
import { linkIn, noMailServer, waitForMail } from "./mail";
import { newPatient, register, type Patient } from "./patients";
import { keepScreenshot } from "./screenshots";
import { totp, wrongCode } from "./totp";
import { watchApi } from "./traffic";

/**
 * "Set up" on the profile, as a patient with an authenticator app does it: scan (here: read)
 * the secret, confirm with the code the app shows now, keep the ten recovery codes.
 */
async function turnOnCodes(page: Page, testInfo?: TestInfo): Promise<{ secret: string; recoveryCodes: string[] }> {
  const section = page.getByTestId("two-step");
  await expect(section.getByTestId("two-step-status")).toHaveAttribute("data-state", "off");
  await section.getByRole("button", { name: "Set up" }).click();

  // The server's SVG, shown as an image: it loaded (the CSP allows data: images) and has a size.
  const qr = section.getByTestId("totp-qr");
  await expect(qr).toBeVisible();
  await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  expect(await qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml;base64,/);
  const secret = ((await section.getByTestId("totp-secret").textContent()) ?? "").replace(/\s+/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const link = (await section.getByTestId("totp-link").getAttribute("href")) ?? "";
  expect(new URL(link).searchParams.get("secret")).toBe(secret);
  if (testInfo) await keepScreenshot(page, testInfo, "two-step-setup");

  const confirm = section.getByTestId("totp-confirm-form");
  await confirm.getByLabel("Code from your authenticator app").fill(totp(secret));
  await confirm.getByRole("button", { name: "Turn on" }).click();
  const list = section.getByTestId("recovery-codes");
  await expect(list.locator("li")).toHaveCount(10);
  const recoveryCodes = (await list.locator("li").allTextContents()).map((code) => code.trim());
  for (const code of recoveryCodes) expect(code).toMatch(/^[a-z0-9]{5}-[a-z0-9]{5}$/);
  expect(new Set(recoveryCodes).size).toBe(10);
  if (testInfo) await keepScreenshot(page, testInfo, "two-step-recovery-codes");

  await section.getByRole("button", { name: "I have saved them" }).click();
  await expect(section.getByTestId("two-step-status")).toHaveAttribute("data-state", "on");
  await expect(section.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 10.");
  // Shown once: nothing on the page holds them any more.
  await expect(section.getByTestId("recovery-codes")).toHaveCount(0);
  return { secret, recoveryCodes };
}

/** The right password: the second step, and no token of any kind in the tab yet. */
async function passwordStep(page: Page, patient: Patient): Promise<void> {
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email or username").fill(patient.email);
  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("second-step-form")).toBeVisible();
  await expect(page.getByTestId("profile")).toHaveCount(0);
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
}

test("a patient turns on authenticator-app codes, then signs in with the password and a code, or a recovery code", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const api = watchApi(page);
  const patient = newPatient("Nour Saleh");
  await page.goto(env.appUrl);
  await register(page, patient);
  const { secret, recoveryCodes } = await turnOnCodes(page, testInfo);
  await keepScreenshot(page, testInfo, "two-step-on");
  await logOut(page);

  // The password alone is not enough now.
  await passwordStep(page, patient);
  const step = page.getByTestId("second-step-form");
  await expect(step).toHaveAttribute("data-method", "totp");
  await keepScreenshot(page, testInfo, "two-step-second-step");

  // A wrong code is said to be one, and the same step (its mfa_token) takes the right one next.
  const codeInput = step.getByLabel("Code from your authenticator app");
  await codeInput.fill(wrongCode(secret));
  await step.getByRole("button", { name: "Sign in" }).click();
  await expect(step.getByRole("alert")).toHaveText("That code is not right, or was used already. Enter the code your app shows now.");
  expect(api.answers("POST /auth/mfa/verify", 401)).toBe(1);
  await keepScreenshot(page, testInfo, "two-step-wrong-code");

  // The code of confirm's step was used: the app's next one (the server allows 30 s of skew).
  const verified = page.waitForResponse((r) => r.url() === `${env.apiUrl}/auth/mfa/verify` && r.status() === 200);
  await codeInput.fill(totp(secret, Date.now() + 30_000));
  await step.getByRole("button", { name: "Sign in" }).click();
  const tokens = (await (await verified).json()) as { token: string };
  expect(amrOf(tokens.token)).toEqual(["pwd", "otp"]);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("session").filter({ hasText: "This tab" })).toContainText("with a second step");
  await expect(page.getByTestId("two-step-status")).toHaveAttribute("data-state", "on");
  await logOut(page);

  // Without the phone: a recovery code, which works once and signs every other device out.
  await passwordStep(page, patient);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  const recovery = page.getByTestId("second-step-form");
  await expect(recovery).toHaveAttribute("data-method", "recovery_code");
  await recovery.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await keepScreenshot(page, testInfo, "two-step-recovery-code");
  await recovery.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("signed-in-notice")).toContainText("You signed in with a recovery code");
  await expect(page.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 9.");
  await expect(page.getByTestId("session")).toHaveCount(1);
  if (env.mailDir !== null) await waitForMail(patient.email, "A recovery code was used to sign in");
  await logOut(page);

  // The same recovery code again: refused; the next one on the list works.
  await passwordStep(page, patient);
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  const again = page.getByTestId("second-step-form");
  await again.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await again.getByRole("button", { name: "Sign in" }).click();
  await expect(again.getByRole("alert")).toHaveText("That recovery code is not right, or was used already.");
  // As a patient types it from paper: capitals and spaces instead of the dash.
  await again.getByLabel("Recovery code").fill(recoveryCodes[1]!.toUpperCase().replace("-", " "));
  await again.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 8.");

  expect(problems).toEqual([]);
});

test("new recovery codes and turning codes off take the password and a code; then the password alone signs in", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const patient = newPatient("Karim Aziz");
  await page.goto(env.appUrl);
  await register(page, patient);
  const { recoveryCodes: first } = await turnOnCodes(page);
  const section = page.getByTestId("two-step");

  // New recovery codes: a wrong password is refused, under the button.
  await section.getByRole("button", { name: "New recovery codes" }).click();
  const renew = section.getByTestId("two-step-new-codes-form");
  await renew.getByLabel("Password").fill(`wrong-${randomUUID()}`);
  await renew.getByLabel("Code from your authenticator app, or a recovery code").fill(first[0]!);
  await renew.getByRole("button", { name: "Make new codes" }).click();
  await expect(renew.getByRole("alert")).toContainText("The password or the code is not right.");
  await keepScreenshot(page, testInfo, "two-step-change-refused");
  // The right password, and a recovery code as the fresh factor (the app's code of this step
  // was used by confirm).
  await renew.getByLabel("Password").fill(patient.password);
  await renew.getByRole("button", { name: "Make new codes" }).click();
  const list = section.getByTestId("recovery-codes");
  await expect(list.locator("li")).toHaveCount(10);
  const second = (await list.locator("li").allTextContents()).map((code) => code.trim());
  expect(second.filter((code) => first.includes(code))).toEqual([]);
  await section.getByRole("button", { name: "I have saved them" }).click();
  await expect(section.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 10.");

  // Turning off: the old codes no longer work, a new one does.
  await section.getByRole("button", { name: "Turn off" }).click();
  const off = section.getByTestId("two-step-turn-off-form");
  await off.getByLabel("Password").fill(patient.password);
  await off.getByLabel("Code from your authenticator app, or a recovery code").fill(first[1]!);
  await off.getByRole("button", { name: "Turn off" }).click();
  await expect(off.getByRole("alert")).toContainText("The password or the code is not right.");
  await off.getByLabel("Code from your authenticator app, or a recovery code").fill(second[0]!);
  await off.getByRole("button", { name: "Turn off" }).click();
  await expect(section.getByTestId("two-step-status")).toHaveAttribute("data-state", "off");
  await expect(section.getByTestId("two-step-notice")).toHaveText("Two-step sign-in is off.");

  await logOut(page);
  const login = page.getByTestId("login-form");
  await login.getByLabel("Email or username").fill(patient.email);
  await login.getByLabel("Password").fill(patient.password);
  await login.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("second-step-form")).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("a password reset from the mailed link still asks for the code before signing in", async ({ page }, testInfo) => {
  test.skip(env.mailDir === null, noMailServer);
  const problems = watchProblems(page);
  const patient = newPatient("Hana Yousef");
  await page.goto(env.appUrl);
  await register(page, patient);
  const { secret } = await turnOnCodes(page);
  await logOut(page);

  await page.getByTestId("login-form").getByLabel("Email or username").fill(patient.email);
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.getByTestId("forgot-form").getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByTestId("forgot-sent")).toBeVisible();
  await page.goto(linkIn(await waitForMail(patient.email, "Reset your password"), "/reset-password"));
  const reset = page.getByTestId("reset-form");
  const newPassword = `new-${randomUUID()}`;
  await reset.getByLabel("New password").fill(newPassword);
  await reset.getByRole("button", { name: "Set new password" }).click();

  // The password is set, but the mailed link is no second factor.
  const step = page.getByTestId("second-step-form");
  await expect(step).toBeVisible();
  await expect(page.getByTestId("second-step-notice")).toContainText("Your new password is set");
  expect(page.url()).toBe(`${env.appUrl}/`);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await keepScreenshot(page, testInfo, "two-step-after-reset");
  await step.getByLabel("Code from your authenticator app").fill(totp(secret, Date.now() + 30_000));
  await step.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("signed-in-notice")).toContainText("Your new password is set.");
  await expect(page.getByTestId("two-step-status")).toHaveAttribute("data-state", "on");
  expect(problems).toEqual([]);
});
