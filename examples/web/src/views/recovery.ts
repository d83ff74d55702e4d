// The pages a mailed link or "Forgot password?" opens:
//   /forgot-password   the address to mail a reset link to
//   /reset-password    #token=… from the link, and the new password
//   /verify-email      #token=… from the link, confirmed at once
// The token is read by app.ts and taken out of the address bar before these render.
import { isErrorCode, type PasswordResetRequest } from "@patient-auth/client";
import { formText, h } from "../dom";
import { field, withSubmit, type Outcome } from "./forms";

/** The 202's message: the link is on its way (if the address has an account). */
export interface Sent {
  sent: string;
}

export interface ForgotPasswordActions {
  requestReset(request: PasswordResetRequest): Promise<Sent | Outcome>;
  /** Back to the log-in form. */
  back(): void;
}

export interface ResetPasswordActions extends ForgotPasswordActions {
  /** Sets the password with the link's token; null once signed in (the app shows the profile). */
  confirm(newPassword: string): Promise<Outcome>;
}

export function forgotPasswordView(email: string, actions: ForgotPasswordActions): HTMLElement {
  return h("section", { class: "recovery", "data-testid": "forgot-password-page" }, forgotForm(email, actions));
}

export function resetPasswordView(token: string | null, actions: ResetPasswordActions): HTMLElement {
  const page = h("section", { class: "recovery", "data-testid": "reset-password-page" });
  if (token === null) {
    page.append(
      h(
        "p",
        { class: "notice", "data-testid": "reset-no-token" },
        "This page opens from the link in the email we sent you (a link works once). Ask for a new one here.",
      ),
      forgotForm("", actions),
    );
    return page;
  }
  const form = h(
    "form",
    { "data-testid": "reset-form", novalidate: true },
    h("h2", {}, "Choose a new password"),
    h("p", { class: "muted" }, "You will be signed in here, and signed out on every other device."),
    field("New password (at least 8 characters)", "new_password", "password", "new-password"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Set new password"), backLink(actions)),
  );
  page.append(
    withSubmit(form, async () => {
      const outcome = await actions.confirm(formText(form, "new_password"));
      if (isErrorCode(outcome, "invalid_reset_token")) {
        // The token is spent: the only way on is a new link.
        page.replaceChildren(
          h("p", { class: "notice problem", role: "alert", "data-testid": "reset-invalid" }, outcome.message),
          forgotForm("", actions),
        );
        return null;
      }
      return outcome;
    }),
  );
  return page;
}

/** Where opening a verification link got: `refused` is the token (400), `failed` anything else. */
export type VerifyState =
  | { kind: "checking" }
  | { kind: "verified" }
  | { kind: "missing" }
  | { kind: "refused"; message: string }
  | { kind: "failed"; message: string };

/** The result of opening a verification link; `next` continues (or tries again, when it failed). */
export function verifyEmailView(state: VerifyState, next: { label: string; go(): void }): HTMLElement {
  const result = ((): string => {
    switch (state.kind) {
      case "checking":
        return "Confirming your email address…";
      case "verified":
        return "Thank you: your email address is verified.";
      case "missing":
        return "This page opens from the link in the email we sent you. Sign in to ask for a new one.";
      case "refused":
        return `${state.message} Sign in and choose “Send a new link” on your profile.`;
      case "failed":
        return state.message;
    }
  })();
  const problem = state.kind === "refused" || state.kind === "failed";
  const button = h("button", { type: "button", "data-testid": "continue" }, next.label);
  button.addEventListener("click", () => next.go());
  return h(
    "section",
    { class: "recovery card", "data-testid": "verify-email-page", "data-state": state.kind },
    h("h2", {}, "Your email address"),
    h("p", { class: problem ? "notice problem" : "notice", role: problem ? "alert" : "status", "data-testid": "verify-result" }, result),
    state.kind === "checking" ? null : button,
  );
}

function forgotForm(email: string, actions: ForgotPasswordActions): HTMLFormElement {
  const sent = h("p", { class: "notice", role: "status", "data-testid": "forgot-sent", hidden: true });
  const form = h(
    "form",
    { "data-testid": "forgot-form", novalidate: true },
    h("h2", {}, "Forgot your password?"),
    h("p", { class: "muted" }, "We will email you a link to choose a new one. It works once, within 30 minutes."),
    field("Email", "email", "email", "email"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Email me a link"), backLink(actions)),
    sent,
  );
  const input = form.querySelector<HTMLInputElement>('input[name="email"]');
  if (input) input.value = email;
  return withSubmit(form, async () => {
    sent.hidden = true;
    const outcome = await actions.requestReset({ email: formText(form, "email").trim() });
    if (outcome !== null && typeof outcome === "object" && "sent" in outcome) {
      sent.textContent = outcome.sent;
      sent.hidden = false;
      return null;
    }
    return outcome;
  });
}

function backLink(actions: ForgotPasswordActions): HTMLElement {
  const back = h("a", { href: "/", "data-testid": "back-to-login" }, "Back to log in");
  back.addEventListener("click", (event) => {
    event.preventDefault();
    actions.back();
  });
  return back;
}
