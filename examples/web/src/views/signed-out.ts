// Log in and register: two forms, the way to a new password, and signing in with a passkey
// alone. Each action answers what to show (see Outcome), or null on success.
import type { LoginRequest, RegisterRequest } from "@patient-auth/client";
import { formText, h } from "../dom";
import { describeError } from "../errors";
import { field, withSubmit, type Outcome } from "./forms";

export interface SignedOutActions {
  login(request: LoginRequest): Promise<Outcome>;
  register(request: RegisterRequest): Promise<Outcome>;
  /** Opens the "Forgot password?" form, with the address typed so far (or ""). */
  forgotPassword(email: string): void;
  /** Signs in with a passkey alone (the browser asks which); null when this browser has no passkeys. */
  passkey: (() => Promise<Outcome>) | null;
}

export function signedOutView(notice: string | null, actions: SignedOutActions): HTMLElement {
  return h(
    "div",
    { class: "signed-out" },
    notice ? h("p", { class: "notice", "data-testid": "notice" }, notice) : null,
    h(
      "div",
      { class: "columns" },
      h("div", { class: "stack" }, loginForm(actions), actions.passkey ? passkeyLogin(actions.passkey) : null),
      registerForm(actions),
    ),
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

/** A button beside the log-in form, not in it: nothing is typed, and that form keeps its one alert. */
function passkeyLogin(signIn: () => Promise<Outcome>): HTMLElement {
  const button = h("button", { type: "button", class: "secondary", "data-testid": "passkey-login" }, "Sign in with a passkey");
  const problem = h("p", { class: "error", role: "alert", "data-testid": "passkey-login-problem" });
  button.addEventListener("click", () => {
    button.disabled = true;
    problem.textContent = "";
    void signIn().then((outcome) => {
      button.disabled = false;
      problem.textContent = outcome === null ? "" : typeof outcome === "string" ? outcome : describeError(outcome);
    });
  });
  return h(
    "div",
    { class: "card passkey-login" },
    h("p", { class: "muted" }, "Added a passkey that signs you in on its own? No email or password needed."),
    h("div", { class: "actions" }, button),
    problem,
  );
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
