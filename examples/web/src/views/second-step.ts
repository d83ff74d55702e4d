// The second step of a login, or of a password reset, when the patient has turned on
// authenticator-app codes or added a passkey: the password was right, and the server answered an
// mfa_token (app.ts keeps it in a closure, nowhere else) instead of tokens. One of the passkeys,
// a code from the app, or one of the recovery codes finishes the sign-in.
import type { SecondFactor } from "@patient-auth/client";
import { formText, h } from "../dom";
import { codeField, withSubmit, type Outcome } from "./forms";

export interface SecondStepActions {
  /** Sends the code with the login's mfa_token; null once signed in (the app shows the profile). */
  verify(factor: SecondFactor): Promise<Outcome>;
  /** Has a passkey answer (the browser asks) and sends that; null once signed in. */
  passkey(): Promise<Outcome>;
  /** Back to the log-in form. */
  cancel(): void;
}

type Method = "passkey" | "totp" | "recovery_code";

/** Shows the form of `method`; `start` also submits it (a passkey: the browser's prompt at once). */
type SwitchTo = (method: Method, start?: boolean) => void;

/**
 * `methods` is what the server said completes this login; `notice` is what came before (e.g. a
 * reset: the new password is set already).
 */
export function secondStepView(methods: readonly string[], notice: string | null, actions: SecondStepActions): HTMLElement {
  // A passkey first when there is one: a touch or a glance instead of typing. The server names
  // it "webauthn".
  const served: Record<Method, string> = { passkey: "webauthn", totp: "totp", recovery_code: "recovery_code" };
  const offered = (["passkey", "totp", "recovery_code"] as const).filter((method) => methods.includes(served[method]));
  const page = h("section", { class: "recovery", "data-testid": "second-step-page" });
  const render: SwitchTo = (method, start = false) => {
    const form =
      method === "passkey"
        ? passkeyForm(offered, render, actions)
        : method === "totp"
          ? appCodeForm(offered, render, actions)
          : recoveryCodeForm(offered, render, actions);
    page.replaceChildren(...(notice ? [h("p", { class: "notice", role: "status", "data-testid": "second-step-notice" }, notice)] : []), form);
    (form.querySelector("input") ?? form.querySelector("button"))?.focus();
    if (start) form.requestSubmit();
  };
  render(offered[0] ?? "totp");
  return page;
}

function passkeyForm(offered: readonly Method[], switchTo: SwitchTo, actions: SecondStepActions): HTMLFormElement {
  const form = h(
    "form",
    { "data-testid": "second-step-form", "data-method": "passkey", novalidate: true },
    h("h2", {}, "Two-step sign-in"),
    h("p", { class: "muted" }, "Use one of your passkeys: your browser asks for your fingerprint, face, PIN or security key."),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Use a passkey"),
      offered.includes("totp") ? switchButton("Use the code from your app", () => switchTo("totp")) : null,
      offered.includes("recovery_code") ? switchButton("Use a recovery code", () => switchTo("recovery_code")) : null,
      cancelLink(actions),
    ),
  );
  return withSubmit(form, () => actions.passkey());
}

function appCodeForm(offered: readonly Method[], switchTo: SwitchTo, actions: SecondStepActions): HTMLFormElement {
  const form = h(
    "form",
    { "data-testid": "second-step-form", "data-method": "totp", novalidate: true },
    h("h2", {}, "Two-step sign-in"),
    h("p", { class: "muted" }, "Open the authenticator app on your phone and enter the six-digit code it shows for patient-auth."),
    codeField("Code from your authenticator app", "code", "app"),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Sign in"),
      offered.includes("passkey") ? switchButton("Use a passkey", () => switchTo("passkey", true)) : null,
      offered.includes("recovery_code") ? switchButton("Use a recovery code", () => switchTo("recovery_code")) : null,
      cancelLink(actions),
    ),
  );
  return withSubmit(form, () => actions.verify({ code: formText(form, "code").replace(/\s+/g, "") }));
}

function recoveryCodeForm(offered: readonly Method[], switchTo: SwitchTo, actions: SecondStepActions): HTMLFormElement {
  const form = h(
    "form",
    { "data-testid": "second-step-form", "data-method": "recovery_code", novalidate: true },
    h("h2", {}, "Use a recovery code"),
    h(
      "p",
      { class: "muted" },
      offered.includes("passkey")
        ? `Without your ${offered.includes("totp") ? "phone or passkeys" : "passkeys"}, one of the ten recovery codes you saved signs you in. `
        : "Without your phone, one of the ten codes you saved when you set up the app signs you in. ",
      "Each works once; using one signs you out on every other device, and we email you about it.",
    ),
    codeField("Recovery code", "recovery_code", "recovery"),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Sign in"),
      offered.includes("passkey") ? switchButton("Use a passkey", () => switchTo("passkey", true)) : null,
      offered.includes("totp") ? switchButton("Use the code from your app", () => switchTo("totp")) : null,
      cancelLink(actions),
    ),
  );
  return withSubmit(form, () => actions.verify({ recovery_code: formText(form, "recovery_code").trim() }));
}

function switchButton(label: string, go: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "link", "data-testid": "switch-method" }, label);
  button.addEventListener("click", go);
  return button;
}

function cancelLink(actions: SecondStepActions): HTMLElement {
  const cancel = h("a", { href: "/", "data-testid": "back-to-login" }, "Back to log in");
  cancel.addEventListener("click", (event) => {
    event.preventDefault();
    actions.cancel();
  });
  return cancel;
}
