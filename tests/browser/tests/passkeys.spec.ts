// Passkeys: a patient adds one from the profile (the test's virtual authenticator plays the
// device: tests/authenticator.ts), then signs in with it alone, or after the password as the
// second step (also beside authenticator-app codes); a passkey answers only on the origins of
// WEBAUTHN_ORIGIN; removing one takes the password and a fresh factor. Every spec runs on
// http://localhost:<port>, as WebAuthn refuses IP-address origins.
import { randomUUID } from "node:crypto";
import { expect, test, type Page } from "@playwright/test";
import { addVirtualAuthenticator } from "./authenticator";
import { amrOf, logOut, watchProblems } from "./checks";
import { env } from "./env";
import { newPatient, register, type Patient } from "./patients";
import { keepScreenshot } from "./screenshots";
import { totp } from "./totp";
import { watchApi } from "./traffic";

interface NewPasskey {
  name: string;
  passwordless: boolean;
}

/** "Add a passkey" with the password; answers the recovery codes when the page showed them (first factor). */
async function addPasskey(page: Page, patient: Patient, passkey: NewPasskey): Promise<string[] | null> {
  const section = page.getByTestId("passkeys");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  const form = section.getByTestId("passkey-add-form");
  await form.getByLabel("Password", { exact: true }).fill(patient.password);
  await form.getByLabel("Name").fill(passkey.name);
  if (passkey.passwordless) await form.getByLabel("Sign in with this passkey alone, without the password").check();
  await form.getByRole("button", { name: "Add passkey" }).click();
  await expect(section.getByTestId("passkeys-notice")).toContainText(`“${passkey.name}” is added`);
  const list = section.getByTestId("recovery-codes");
  if ((await list.count()) === 0) return null;
  const codes = (await list.locator("li").allTextContents()).map((code) => code.trim());
  await section.getByRole("button", { name: "I have saved them" }).click();
  await expect(section.getByTestId("recovery-codes")).toHaveCount(0);
  return codes;
}

/** The right password, up to the second step. */
async function passwordStep(page: Page, patient: Patient): Promise<void> {
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email or username").fill(patient.email);
  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("second-step-form")).toBeVisible();
}

/** The access token of the next 200 from `path`. */
async function tokenFrom(page: Page, path: string, act: () => Promise<void>): Promise<string> {
  const answered = page.waitForResponse((r) => r.url() === `${env.apiUrl}${path}` && r.status() === 200);
  await act();
  return ((await (await answered).json()) as { token: string }).token;
}

test("a patient adds a passkey that signs in alone, then signs in with it and no password", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const authenticator = await addVirtualAuthenticator(page);
  const patient = newPatient("Layla Mansour");
  await page.goto(env.passkeyAppUrl);
  await register(page, patient);

  const section = page.getByTestId("passkeys");
  await expect(section.getByTestId("passkey-list")).toHaveText("No passkeys yet.");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await keepScreenshot(page, testInfo, "passkey-add");
  await section.getByRole("button", { name: "Cancel" }).click();

  // The account's first second factor: the ten recovery codes come with it, shown once.
  const codes = await addPasskey(page, patient, { name: "Laptop", passwordless: true });
  expect(codes).toHaveLength(10);
  expect(new Set(codes).size).toBe(10);
  for (const code of codes ?? []) expect(code).toMatch(/^[a-z0-9]{5}-[a-z0-9]{5}$/);
  const item = section.getByTestId("passkey");
  await expect(item).toHaveCount(1);
  await expect(item).toContainText("Laptop — signs you in on its own");
  await expect(item).toContainText("not used yet");
  await expect(page.getByTestId("two-step-status")).toHaveAttribute("data-state", "passkeys");
  await expect(page.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 10.");
  const held = await authenticator.credentials();
  expect(held).toHaveLength(1);
  expect(held[0]).toMatchObject({ isResidentCredential: true, rpId: "localhost" });
  await keepScreenshot(page, testInfo, "passkey-added");
  await logOut(page);

  // Nothing typed: the browser offers the passkey, the server names the account.
  const token = await tokenFrom(page, "/auth/passkeys/login", () => page.getByRole("button", { name: "Sign in with a passkey" }).click());
  expect(amrOf(token)).toEqual(["hwk", "mfa"]);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("session").filter({ hasText: "This tab" })).toContainText("with a passkey");
  await expect(item).toContainText("last used");
  await keepScreenshot(page, testInfo, "passkey-signed-in");
  expect(problems).toEqual([]);
});

test("a passkey added as a second step signs in after the password, and answers for new recovery codes", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const api = watchApi(page);
  const authenticator = await addVirtualAuthenticator(page);
  const patient = newPatient("Samir Khoury");
  await page.goto(env.passkeyAppUrl);
  await register(page, patient);
  expect(await addPasskey(page, patient, { name: "Security key", passwordless: false })).toHaveLength(10);
  await expect(page.getByTestId("passkey")).toContainText("Security key — second step after your password");
  // A second step only: the authenticator need not keep it (not discoverable).
  expect(await authenticator.credentials()).toMatchObject([{ isResidentCredential: false }]);
  await logOut(page);

  await passwordStep(page, patient);
  const step = page.getByTestId("second-step-form");
  await expect(step).toHaveAttribute("data-method", "passkey");
  await expect(step.getByRole("button", { name: "Use a recovery code" })).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  await keepScreenshot(page, testInfo, "passkey-second-step");

  const token = await tokenFrom(page, "/auth/mfa/verify", () => step.getByRole("button", { name: "Use a passkey" }).click());
  expect(amrOf(token)).toEqual(["pwd", "hwk"]);
  expect(api.answers("POST /auth/mfa/passkey/options", 200)).toBe(1);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("session").filter({ hasText: "This tab" })).toContainText("with a second step (a passkey)");

  // New recovery codes: the password, and the passkey (no code typed) as the fresh factor.
  const twoStep = page.getByTestId("two-step");
  await twoStep.getByRole("button", { name: "New recovery codes" }).click();
  const renew = twoStep.getByTestId("two-step-new-codes-form");
  await renew.getByLabel("Password").fill(patient.password);
  await renew.getByRole("button", { name: "Make new codes" }).click();
  await expect(twoStep.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  expect(api.answers("POST /auth/mfa/recovery-codes", 200)).toBe(1);
  await twoStep.getByRole("button", { name: "I have saved them" }).click();
  await expect(twoStep.getByTestId("recovery-codes-left")).toHaveText("Recovery codes left: 10.");
  expect(problems).toEqual([]);
});

test("a passkey works only on the origins of WEBAUTHN_ORIGIN: another origin cannot sign in with it or add one", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const api = watchApi(page);
  const authenticator = await addVirtualAuthenticator(page);
  const patient = newPatient("Rania Habib");
  await page.goto(env.passkeyAppUrl);
  await register(page, patient);
  await addPasskey(page, patient, { name: "Laptop", passwordless: true });
  await logOut(page);

  // The same site (localhost) and the same authenticator, but a page origin the server does not
  // take passkeys from: the browser signs, the server refuses.
  await page.goto(env.passkeyOtherOriginUrl);
  expect(await authenticator.credentials()).toHaveLength(1);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByTestId("passkey-login-problem")).toHaveText(
    "That passkey was not accepted for signing in. A passkey added as a second step needs your password first, and passkeys work only on this portal's own address.",
  );
  expect(api.answers("POST /auth/passkeys/login", 401)).toBe(1);
  expect(api.answers("POST /auth/passkeys/login", 200)).toBe(0);
  await expect(page.getByTestId("login-form")).toBeVisible();
  await expect(page.getByTestId("profile")).toHaveCount(0);
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  await keepScreenshot(page, testInfo, "passkey-refused-origin");

  // Nor is a passkey made on that origin added to an account.
  const other = newPatient("Yusuf Darwish");
  await register(page, other);
  const section = page.getByTestId("passkeys");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  const form = section.getByTestId("passkey-add-form");
  await form.getByLabel("Password", { exact: true }).fill(other.password);
  await form.getByRole("button", { name: "Add passkey" }).click();
  await expect(form.getByRole("alert")).toContainText("The server refused this passkey");
  expect(api.answers("POST /auth/passkeys/register", 422)).toBe(1);
  await section.getByRole("button", { name: "Cancel" }).click();
  await expect(section.getByTestId("passkey-list")).toHaveText("No passkeys yet.");
  expect(problems).toEqual([]);
});

test("removing a passkey takes the password and a passkey; it leaves the list", async ({ page }, testInfo) => {
  const problems = watchProblems(page);
  const api = watchApi(page);
  await addVirtualAuthenticator(page);
  const patient = newPatient("Mona Farouk");
  await page.goto(env.passkeyAppUrl);
  await register(page, patient);
  await addPasskey(page, patient, { name: "Phone", passwordless: true });
  const section = page.getByTestId("passkeys");

  // The same authenticator cannot hold a second passkey of the account (excludeCredentials).
  await section.getByRole("button", { name: "Add a passkey" }).click();
  const again = section.getByTestId("passkey-add-form");
  await again.getByLabel("Password", { exact: true }).fill(patient.password);
  await again.getByRole("button", { name: "Add passkey" }).click();
  await expect(again.getByRole("alert")).toHaveText(
    "This device already holds one of your passkeys: use that one, or add this passkey on another device or security key.",
  );
  await section.getByRole("button", { name: "Cancel" }).click();

  const item = section.getByTestId("passkey");
  await item.getByRole("button", { name: "Remove" }).click();
  const form = section.getByTestId("passkey-remove-form");
  await expect(form.getByRole("heading")).toHaveText("Remove “Phone”");
  // A wrong password, with the passkey as the fresh factor: refused, and the passkey stays.
  await form.getByLabel("Password").fill(`wrong-${randomUUID()}`);
  await form.getByRole("button", { name: "Remove passkey" }).click();
  await expect(form.getByRole("alert")).toHaveText("The password is not right, or that passkey is not one of this account's.");
  expect(api.answers("POST /auth/passkeys/remove", 401)).toBe(1);
  await keepScreenshot(page, testInfo, "passkey-remove-refused");

  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Remove passkey" }).click();
  await expect(section.getByTestId("passkeys-notice")).toContainText("“Phone” is removed.");
  await expect(section.getByTestId("passkeys-notice")).toContainText("Two-step sign-in is off");
  await expect(item).toHaveCount(0);
  await expect(section.getByTestId("passkey-list")).toHaveText("No passkeys yet.");
  expect(api.answers("POST /auth/passkeys/assertion-options", 200)).toBe(2);
  await expect(page.getByTestId("two-step-status")).toHaveAttribute("data-state", "off");
  await keepScreenshot(page, testInfo, "passkey-removed");

  // The password alone signs in again.
  await logOut(page);
  const login = page.getByTestId("login-form");
  await login.getByLabel("Email or username").fill(patient.email);
  await login.getByLabel("Password").fill(patient.password);
  await login.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  expect(problems).toEqual([]);
});

test("with a passkey and authenticator-app codes, the second step offers the passkey first and the code instead", async ({ page }) => {
  const problems = watchProblems(page);
  await addVirtualAuthenticator(page);
  const patient = newPatient("Dina Saad");
  await page.goto(env.passkeyAppUrl);
  await register(page, patient);
  const first = await addPasskey(page, patient, { name: "Laptop", passwordless: false });

  // Codes on as well: the server makes new recovery codes, and the page says the first ones went.
  const twoStep = page.getByTestId("two-step");
  await expect(twoStep.getByTestId("two-step-status")).toHaveAttribute("data-state", "passkeys");
  await twoStep.getByRole("button", { name: "Set up" }).click();
  const secret = ((await twoStep.getByTestId("totp-secret").textContent()) ?? "").replace(/\s+/g, "");
  const confirm = twoStep.getByTestId("totp-confirm-form");
  await confirm.getByLabel("Code from your authenticator app").fill(totp(secret));
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(twoStep.getByTestId("two-step-notice")).toHaveText(
    "Authenticator-app codes are on. These recovery codes replace the ones you had: those no longer work.",
  );
  const second = (await twoStep.getByTestId("recovery-codes").locator("li").allTextContents()).map((code) => code.trim());
  expect(second.filter((code) => first?.includes(code))).toEqual([]);
  await twoStep.getByRole("button", { name: "I have saved them" }).click();
  await expect(twoStep.getByTestId("two-step-status")).toHaveAttribute("data-state", "on");
  await logOut(page);

  // The passkey first; the app's code instead; and back to the passkey, whose prompt opens at once.
  await passwordStep(page, patient);
  const step = page.getByTestId("second-step-form");
  await expect(step).toHaveAttribute("data-method", "passkey");
  await step.getByRole("button", { name: "Use the code from your app" }).click();
  await expect(step).toHaveAttribute("data-method", "totp");
  const byPasskey = await tokenFrom(page, "/auth/mfa/verify", () => step.getByRole("button", { name: "Use a passkey" }).click());
  expect(amrOf(byPasskey)).toEqual(["pwd", "hwk"]);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await logOut(page);

  await passwordStep(page, patient);
  await step.getByRole("button", { name: "Use the code from your app" }).click();
  await step.getByLabel("Code from your authenticator app").fill(totp(secret, Date.now() + 30_000));
  const byCode = await tokenFrom(page, "/auth/mfa/verify", () => step.getByRole("button", { name: "Sign in" }).click());
  expect(amrOf(byCode)).toEqual(["pwd", "otp"]);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  expect(problems).toEqual([]);
});
