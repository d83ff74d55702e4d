// Playwright drives Debian's Chromium (/usr/bin/chromium): Playwright's own browser download is
// not used. run.sh starts patient-auth and the example's two origins and passes them in the
// environment (see tests/env.ts).
import { defineConfig } from "@playwright/test";

const artifacts = process.env.ARTIFACTS_DIR ?? "test-results";

export default defineConfig({
  testDir: "tests",
  outputDir: `${artifacts}/results`,
  // The refresh tests wait for real token lifetimes (JWT_EXP_MINUTES=1).
  timeout: 150_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  reporter: [["list"], ["json", { outputFile: `${artifacts}/results.json` }]],
  use: {
    browserName: "chromium",
    // Playwright gives every launch a fresh temporary profile (user-data-dir).
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        // Without these, Chromium's own background connections fail on a closed network and
        // can take the page's connections down with them.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
});
