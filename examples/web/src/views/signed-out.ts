// Log in and register: two forms, and the way to a new password. Each action answers what to
// show (see Outcome), or null on success.
import type { LoginRequest, RegisterRequest } from "@patient-auth/client";
import { formText, h } from "../dom";
import { field, withSubmit, type Outcome } from "./forms";

export interface SignedOutActions {
  login(request: LoginRequest): Promise<Outcome>;
  register(request: RegisterRequest): Promise<Outcome>;
  /** Opens the "Forgot password?" form, with the address typed so far (or ""). */
  forgotPassword(email: string): void;
}

export function signedOutView(notice: string | null, actions: SignedOutActions): HTMLElement {
  return h(
    "div",
    { class: "signed-out" },
    notice ? h("p", { class: "notice", "data-testid": "notice" }, notice) : null,
    h("div", { class: "columns" }, loginForm(actions), registerForm(actions)),
  );
}

function loginForm(actions: SignedOutActions): HTMLElement {
  const forgot = h("a", { href: "/forgot-password", "data-testid": "forgot-password" }, "Forgot password?");
  const form = h(
    "form",
    { "data-testid": "login-form", novalidate: true },
    h("h2", {}, "Log in"),
    field("Email or username", "identifier", "text", "username"),
    field("Password", "password", "password", "current-password"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Log in"), forgot),
  );
  forgot.addEventListener("click", (event) => {
    event.preventDefault();
    const identifier = formText(form, "identifier").trim();
    actions.forgotPassword(identifier.includes("@") ? identifier : "");
  });
  return withSubmit(form, () => {
    const identifier = formText(form, "identifier").trim();
    const password = formText(form, "password");
    return actions.login(identifier.includes("@") ? { email: identifier, password } : { username: identifier, password });
  });
}

function registerForm(actions: SignedOutActions): HTMLElement {
  const form = h(
    "form",
    { "data-testid": "register-form", novalidate: true },
    h("h2", {}, "Create an account"),
    field("Full name", "name", "text", "name"),
    field("Email", "email", "email", "email"),
    field("Username (optional)", "username", "text", "username", false),
    field("Password (at least 8 characters)", "password", "password", "new-password"),
    h("button", { type: "submit" }, "Create account"),
  );
  return withSubmit(form, () => {
    const username = formText(form, "username").trim();
    return actions.register({
      name: formText(form, "name"),
      email: formText(form, "email"),
      password: formText(form, "password"),
      ...(username ? { username } : {}),
    });
  });
}
