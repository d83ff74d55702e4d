// CORS: the browser lets the listed origin read the API's answers and refuses another origin.
import { expect, test, type Page } from "@playwright/test";
import { env } from "./env";
import { newPatient } from "./patients";
import { keepScreenshot } from "./screenshots";

/** A fetch from the page: "status N" when the browser hands over the answer, else the error. */
function fetchFrom(page: Page, url: string, init: RequestInit = {}): Promise<string> {
  return page.evaluate(
    async ([url, init]) => {
      try {
        return `status ${(await fetch(url, init)).status}`;
      } catch (error) {
        return error instanceof TypeError ? "TypeError" : String(error);
      }
    },
    [url, init] as const,
  );
}

const login = { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" };

test("an origin not in CORS_ORIGINS is refused by the browser, the listed origin is not", async ({ page }, testInfo) => {
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });

  await page.goto(env.otherAppUrl);
  expect(await fetchFrom(page, `${env.apiUrl}/health`)).toBe("TypeError");
  expect(await fetchFrom(page, `${env.apiUrl}/auth/login`, login)).toBe("TypeError");

  // The example says what is wrong.
  const patient = newPatient();
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email or username").fill(patient.email);
  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Log in" }).click();
  await expect(form.getByRole("alert")).toContainText(`(${env.otherAppUrl}) listed in its CORS_ORIGINS`);
  expect(consoleErrors.filter((text) => text.includes("blocked by CORS policy")).length).toBeGreaterThanOrEqual(3);
  await keepScreenshot(page, testInfo, "refused-origin");

  await page.goto(env.appUrl);
  expect(await fetchFrom(page, `${env.apiUrl}/health`)).toBe("status 200");
  expect(await fetchFrom(page, `${env.apiUrl}/auth/login`, login)).toBe("status 422");
});
