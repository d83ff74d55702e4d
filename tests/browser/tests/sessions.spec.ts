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
