// "Two-step sign-in" on the profile: whether authenticator-app codes are on (GET /auth/mfa), and
// the ways to set them up (the QR code and the secret, then a code to confirm, then the ten
// recovery codes, shown once), to turn them off, and to get new recovery codes (both with the
// password and a fresh code).
import type { MfaChangeRequest, MfaStatus, RecoveryCodes, SecondFactor, TotpSetup } from "@patient-auth/client";
import { formText, h } from "../dom";
import { codeField, field, withSubmit, type Outcome } from "./forms";

/** What an action answers: the server's answer, or what to show instead (see Outcome). */
export type Answer<T> = { ok: T } | Outcome;

export interface TwoStepActions {
  status(): Promise<Answer<MfaStatus>>;
  setup(): Promise<Answer<TotpSetup>>;
  confirm(code: string): Promise<Answer<RecoveryCodes>>;
  turnOff(request: MfaChangeRequest): Promise<Answer<unknown>>;
  newRecoveryCodes(request: MfaChangeRequest): Promise<Answer<RecoveryCodes>>;
  /** What the patient typed as "a code from the app or a recovery code", as the field it belongs in. */
  secondFactor(typed: string): SecondFactor;
}

export interface TwoStepSection {
  element: HTMLElement;
  /** Shows a newer status, unless the patient is in the middle of something (setup, new codes). */
  update(status: MfaStatus): void;
}

export function twoStepSection(initial: MfaStatus, actions: TwoStepActions): TwoStepSection {
  const element = h("section", { class: "two-step card", "data-testid": "two-step" });
  // False while the patient is setting up or reading recovery codes: a reload of the page's
  // data (Reload, ending a session) must not take those away.
  let resting = true;

  const render = (atRest: boolean, ...children: Node[]): void => {
    resting = atRest;
    element.replaceChildren(h("h2", {}, "Two-step sign-in"), ...children);
  };

  /** Off or on, with what can be done from there; `notice` says what just happened. */
  const showStatus = (status: MfaStatus, notice: string | null = null): void => {
    const said = notice ? h("p", { class: "notice", role: "status", "data-testid": "two-step-notice" }, notice) : null;
    if (!status.totp) {
      const setUp = h("button", { type: "button", "data-testid": "two-step-setup" }, "Set up");
      const problem = alert();
      setUp.addEventListener("click", () => {
        setUp.disabled = true;
        problem.textContent = "";
        void actions.setup().then((answer) => {
          setUp.disabled = false;
          if (isOk(answer)) return showSetup(answer.ok);
          const shown = settled(answer);
          problem.textContent = shown === null ? "" : typeof shown === "string" ? shown : shown.message;
        });
      });
      return render(
        true,
        ...nodes(said),
        h("p", { "data-testid": "two-step-status", "data-state": "off" }, h("strong", {}, "Off."), " Your password alone signs you in."),
        h(
          "p",
          { class: "muted" },
          "Add a second step: after your password, a six-digit code from an authenticator app on your phone " +
            "(such as Google Authenticator, Microsoft Authenticator, FreeOTP or Aegis). Someone who learns your password still cannot sign in.",
        ),
        h("div", { class: "actions" }, setUp),
        problem,
      );
    }
    const left = status.recovery_codes_left;
    const newCodes = h("button", { type: "button", class: "secondary", "data-testid": "two-step-new-codes" }, "New recovery codes");
    const turnOff = h("button", { type: "button", class: "secondary", "data-testid": "two-step-turn-off" }, "Turn off");
    const formSlot = h("div", {});
    newCodes.addEventListener("click", () => formSlot.replaceChildren(newCodesForm(formSlot)));
    turnOff.addEventListener("click", () => formSlot.replaceChildren(turnOffForm(formSlot)));
    render(
      true,
      ...nodes(said),
      h(
        "p",
        { "data-testid": "two-step-status", "data-state": "on" },
        h("strong", {}, "On."),
        " After your password, we ask for a code from your authenticator app.",
      ),
      h(
        "p",
        { class: left <= 3 ? "notice problem" : "muted", "data-testid": "recovery-codes-left" },
        `Recovery codes left: ${left}.`,
        left <= 3 ? " Make new ones before you run out: without your phone, they are the only way in." : "",
      ),
      h("div", { class: "actions" }, newCodes, turnOff),
      formSlot,
    );
  };

  /** The app is set up from the QR code (or the secret typed in), then proves it with a code. */
  const showSetup = (setup: TotpSetup): void => {
    const form = h(
      "form",
      { "data-testid": "totp-confirm-form", novalidate: true },
      codeField("Code from your authenticator app", "code", "app"),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Turn on"), cancelButton(() => void refresh())),
    );
    withSubmit(form, async () => {
      const answer = await actions.confirm(formText(form, "code").replace(/\s+/g, ""));
      if (isOk(answer)) {
        showRecoveryCodes(answer.ok, "Two-step sign-in is on.");
        return null;
      }
      return settled(answer, "That code is not right. Enter the code your app shows now (is the phone's clock right?).");
    });
    render(
      false,
      h(
        "ol",
        { class: "steps" },
        h(
          "li",
          {},
          "In your authenticator app, add an account and scan this QR code:",
          h(
            "div",
            { class: "totp-setup" },
            qrImage(setup.qr_svg),
            h(
              "div",
              {},
              h("p", { class: "muted" }, "Cannot scan it? Type in this key instead (time-based, six digits):"),
              h("p", {}, h("code", { class: "secret", "data-testid": "totp-secret" }, grouped(setup.secret))),
              setup.otpauth_uri.startsWith("otpauth://")
                ? h("p", {}, h("a", { href: setup.otpauth_uri, "data-testid": "totp-link" }, "On this phone? Add it to your authenticator app"))
                : null,
            ),
          ),
        ),
        h("li", {}, "Enter the code the app now shows for patient-auth:", form),
      ),
    );
    form.querySelector("input")?.focus();
  };

  /** Shown this once (the server keeps only hashes); the patient says when they have them. */
  const showRecoveryCodes = (codes: RecoveryCodes, notice: string): void => {
    const saved = h("button", { type: "button", "data-testid": "recovery-codes-saved" }, "I have saved them");
    saved.addEventListener("click", () => void refresh());
    render(
      false,
      h("p", { class: "notice", role: "status", "data-testid": "two-step-notice" }, notice),
      h("h3", {}, "Your recovery codes"),
      h(
        "p",
        {},
        "If you lose your phone, each of these codes signs you in once instead of the app. " +
          "Print them or write them down, and keep them somewhere safe: they are shown only now.",
      ),
      h("ul", { class: "recovery-codes", "data-testid": "recovery-codes" }, ...codes.recovery_codes.map((code) => h("li", {}, h("code", {}, code)))),
      h("div", { class: "actions" }, saved),
    );
    saved.focus();
  };

  /** The password and a fresh code (or a recovery code) for a change to the second step. */
  const changeForm = (
    slot: HTMLElement,
    testid: string,
    title: string,
    explanation: string,
    submitLabel: string,
    submit: (request: MfaChangeRequest) => Promise<Outcome>,
  ): HTMLFormElement => {
    const form = h(
      "form",
      { class: "inset", "data-testid": testid, novalidate: true },
      h("h3", {}, title),
      h("p", { class: "muted" }, explanation),
      field("Password", "password", "password", "current-password"),
      codeField("Code from your authenticator app, or a recovery code", "code", "either"),
      h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel), cancelButton(() => slot.replaceChildren())),
    );
    const rejected = "The password or the code is not right. Each code works once: if you have just used one, wait for the next.";
    return withSubmit(form, async () =>
      settled(await submit({ password: formText(form, "password"), ...actions.secondFactor(formText(form, "code")) }), rejected),
    );
  };

  const turnOffForm = (slot: HTMLElement): HTMLFormElement =>
    changeForm(
      slot,
      "two-step-turn-off-form",
      "Turn off two-step sign-in",
      "Your password alone will sign you in, and your recovery codes stop working.",
      "Turn off",
      async (request) => {
        const answer = await actions.turnOff(request);
        if (!isOk(answer)) return answer;
        showStatus({ totp: false, recovery_codes_left: 0 }, "Two-step sign-in is off.");
        return null;
      },
    );

  const newCodesForm = (slot: HTMLElement): HTMLFormElement =>
    changeForm(
      slot,
      "two-step-new-codes-form",
      "New recovery codes",
      "Ten new codes replace the ones you have: those stop working.",
      "Make new codes",
      async (request) => {
        const answer = await actions.newRecoveryCodes(request);
        if (!isOk(answer)) return answer;
        showRecoveryCodes(answer.ok, "Your old recovery codes no longer work.");
        return null;
      },
    );

  /** The status as the server has it now (after a change, or when this tab's view was stale). */
  const refresh = async (notice: string | null = null): Promise<void> => {
    const answer = await actions.status();
    if (isOk(answer)) showStatus(answer.ok, notice);
    else if (answer !== null) {
      const problem = alert();
      render(true, problem);
      problem.textContent = typeof answer === "string" ? answer : answer.message;
    }
  };

  /**
   * What to show for a refusal: a 409 means another tab set codes up or turned them off
   * meanwhile, so the section shows how things are now (with the server's words); a wrong
   * code is said in `wrongCode`'s words (the server's 401 message speaks of passwords).
   */
  const settled = (answer: Outcome, wrongCode?: string): Outcome => {
    if (answer === null || typeof answer !== "object") return answer;
    if (answer.error === "mfa_already_enabled" || answer.error === "mfa_not_set_up") {
      void refresh(answer.message);
      return null;
    }
    return answer.error === "invalid_credentials" && wrongCode !== undefined ? wrongCode : answer;
  };

  showStatus(initial);
  return {
    element,
    update: (status) => {
      if (resting) showStatus(status);
    },
  };
}

function isOk<T>(answer: Answer<T>): answer is { ok: T } {
  return typeof answer === "object" && answer !== null && "ok" in answer;
}

/**
 * The server's QR code as an image: an SVG in an <img> is a picture only (no script in it runs,
 * nothing it links to loads, and it never becomes part of this page), which the CSP allows with
 * img-src data:.
 */
function qrImage(svg: string): HTMLImageElement {
  let binary = "";
  for (const byte of new TextEncoder().encode(svg)) binary += String.fromCharCode(byte);
  return h("img", {
    class: "qr",
    src: `data:image/svg+xml;base64,${btoa(binary)}`,
    alt: "QR code to scan with your authenticator app",
    width: "192",
    height: "192",
    "data-testid": "totp-qr",
  });
}

/** The base32 secret in groups of four, as apps accept it typed (spaces are ignored). */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

function alert(): HTMLElement {
  return h("p", { class: "error", role: "alert" });
}

function cancelButton(go: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "link" }, "Cancel");
  button.addEventListener("click", go);
  return button;
}

function nodes(node: Node | null): Node[] {
  return node ? [node] : [];
}
