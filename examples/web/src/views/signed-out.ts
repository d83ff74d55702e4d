// Log in and register: two forms. Each action answers an error message, or null on success.
import type { LoginRequest, RegisterRequest } from "@patient-auth/client";
import { formText, h } from "../dom";

export interface SignedOutActions {
  login(request: LoginRequest): Promise<string | null>;
  register(request: RegisterRequest): Promise<string | null>;
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
  const form = h(
    "form",
    { "data-testid": "login-form", novalidate: true },
    h("h2", {}, "Log in"),
    field("Email or username", "identifier", "text", "username"),
    field("Password", "password", "password", "current-password"),
    h("button", { type: "submit" }, "Log in"),
  );
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
    field("Username (optional)", "username", "text", "username"),
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

function field(label: string, name: string, type: string, autocomplete: string): HTMLElement {
  return h("label", {}, label, h("input", { name, type, autocomplete, required: name !== "username" }));
}

/** Runs `submit` instead of sending the form; shows its error under the button. */
function withSubmit(form: HTMLFormElement, submit: () => Promise<string | null>): HTMLFormElement {
  const error = h("p", { class: "error", role: "alert" });
  form.append(error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    error.textContent = "";
    void submit().then((message) => {
      if (button) button.disabled = false;
      error.textContent = message ?? "";
    });
  });
  return form;
}
