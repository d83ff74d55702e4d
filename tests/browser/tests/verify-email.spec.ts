// Email verification: registration mails a link through a real SMTP server (run.sh); the banner
// on the profile asks for it, sends a fresh one on request, and is gone once it is opened.
import { expect, test } from "@playwright/test";
import { env } from "./env";
import { linkIn, noMailServer, waitForMail } from "./mail";
import { newPatient, register } from "./patients";
import { keepScreenshot } from "./screenshots";

test("a new patient confirms the address from the mailed link; the banner on the profile goes", async ({ page }, testInfo) => {
  test.skip(env.mailDir === null, noMailServer);
  const patient = newPatient("Yusuf Karim");
  await page.goto(env.appUrl);
  await register(page, patient);
  const banner = page.getByTestId("verify-banner");
  await expect(banner).toContainText(`open the link we sent to ${patient.email}`);
  await keepScreenshot(page, testInfo, "verify-banner");

  // The mail at registration; then "Send a new link", whose link replaces the first one.
  const first = await waitForMail(patient.email, "Confirm your email address");
  await banner.getByRole("button", { name: "Send a new link" }).click();
  await expect(banner.getByTestId("resend-result")).toHaveText("a new verification link is on its way");
  const second = await waitForMail(patient.email, "Confirm your email address", 2);
  expect(linkIn(second, "/verify-email")).not.toBe(linkIn(first, "/verify-email"));

  await page.goto(linkIn(first, "/verify-email"));
  await expect(page.getByTestId("verify-email-page")).toHaveAttribute("data-state", "refused");
  await expect(page.getByTestId("verify-result")).toContainText("This link is not valid");

  // The tab is on /verify-email already: this changes only the fragment, with no page load.
  await page.goto(linkIn(second, "/verify-email"));
  await expect(page.getByTestId("verify-email-page")).toHaveAttribute("data-state", "verified");
  await expect(page.getByTestId("verify-result")).toHaveText("Thank you: your email address is verified.");
  // The token is out of the address bar once read.
  expect(page.url()).toBe(`${env.appUrl}/verify-email`);
  await keepScreenshot(page, testInfo, "verify-email");

  // This tab kept its session: on to the profile, where the banner is gone.
  await page.getByRole("button", { name: "Continue to your profile" }).click();
  await expect(page).toHaveURL(`${env.appUrl}/`);
  await expect(page.getByTestId("profile")).toContainText(patient.email);
  await expect(page.getByTestId("verify-banner")).toHaveCount(0);

  // The link works once; a browser without the session is sent to log in.
  const elsewhere = await page.context().browser()!.newContext();
  const other = await elsewhere.newPage();
  await other.goto(linkIn(second, "/verify-email"));
  await expect(other.getByTestId("verify-email-page")).toHaveAttribute("data-state", "refused");
  await other.getByRole("button", { name: "Log in" }).click();
  await expect(other.getByTestId("login-form")).toBeVisible();
  await elsewhere.close();
});
