// Screenshots kept as artifacts in ARTIFACTS_DIR (stable names), and attached to the report.
import path from "node:path";
import type { Page, TestInfo } from "@playwright/test";
import { env } from "./env";

export async function keepScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<string> {
  const file = path.join(env.artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
  return file;
}
