// Test patients, and what a patient does through the example's forms.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { expect, type Page } from "@playwright/test";
import { env } from "./env";

export interface Patient {
  name: string;
  email: string;
  password: string;
}

export function newPatient(name = "Amira Haddad"): Patient {
  return { name, email: `patient-${randomUUID()}@example.com`, password: `pw-${randomUUID()}` };
}

export async function register(page: Page, patient: Patient): Promise<void> {
  const form = page.getByTestId("register-form");
  await form.getByLabel("Full name").fill(patient.name);
  await form.getByLabel("Email").fill(patient.email);
  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("profile")).toBeVisible();
}

export async function logIn(page: Page, patient: Patient): Promise<void> {
  const form = page.getByTestId("login-form");
  await form.getByLabel("Email or username").fill(patient.email);
  await form.getByLabel("Password").fill(patient.password);
  await form.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("profile")).toBeVisible();
}

/** What an operator does in SQL: a doctor, a caregiver and three prescriptions (the CLI). */
export function giveDemoData(patient: Patient): void {
  execFileSync(env.serverBinary, ["demo-data", "--email", patient.email], {
    env: { ...process.env, DATABASE_URL: env.databaseUrl, RUST_LOG: "error" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
