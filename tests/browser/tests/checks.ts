// What several specs check on a page: no CSP violation or script error, signing out, and how a
// session was signed in (the access token's `amr`).
import { expect, type Page } from "@playwright/test";

/** CSP violations and script errors (4xx answers are expected here, and logged by Chromium). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return problems;
}

export async function logOut(page: Page): Promise<void> {
  await page.getByTestId("logout").click();
  await expect(page.getByTestId("notice")).toHaveText("You are logged out.");
}

/** The `amr` claim of an access token (its payload is base64url JSON). */
export function amrOf(accessToken: string): unknown {
  const payload = accessToken.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { amr?: unknown }).amr;
}
