// "Two-step sign-in" on the profile: whether authenticator-app codes are on (GET /auth/mfa), and
// the ways to set them up (the QR code and the secret, then a code to confirm, then the ten
// recovery codes, shown once), to turn them off, and to get new recovery codes (both with the
// password and a fresh code, or a passkey's answer when the account has passkeys). Passkeys
// themselves are added and removed in their own section (passkeys.ts).
import type { MfaChangeRequest, MfaStatus, RecoveryCodes, SecondFactor, TotpSetup } from "@patient-auth/client";
import { formText, h } from "../dom";
import { cancelButton, codeField, field, isOk, withSubmit, type Answer, type Outcome } from "./forms";
import { recoveryCodesBlock } from "./recovery-codes";

export interface TwoStepActions {
  status(): Promise<Answer<MfaStatus>>;
  setup(): Promise<Answer<TotpSetup>>;
  confirm(code: string): Promise<Answer<RecoveryCodes>>;
  turnOff(request: MfaChangeRequest): Promise<Answer<unknown>>;
  newRecoveryCodes(request: MfaChangeRequest): Promise<Answer<RecoveryCodes>>;
  /** What the patient typed as "a code from the app or a recovery code", as the field it belongs in. */
  secondFactor(typed: string): SecondFactor;
  /** One of the patient's passkeys answers (the browser asks), as the fresh factor of a change. */
  passkey(): Promise<Answer<SecondFactor>>;
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
  // The status last shown: what the recovery codes stand in for.
  let latest = initial;

  const render = (atRest: boolean, ...children: Node[]): void => {
    resting = atRest;
    element.replaceChildren(h("h2", {}, "Two-step sign-in"), ...children);
  };

  /** Off or on, with what can be done from there; `notice` says what just happened. */
  const showStatus = (status: MfaStatus, notice: string | null = null): void => {
    latest = status;
    const said = notice ? h("p", { class: "notice", role: "status", "data-testid": "two-step-notice" }, notice) : null;
    const left = status.recovery_codes_left;
    const codesLeft = (): HTMLElement =>
      h(
        "p",
        { class: left <= 3 ? "notice problem" : "muted", "data-testid": "recovery-codes-left" },
        `Recovery codes left: ${left}.`,
        left <= 3 ? ` Make new ones before you run out: without your ${status.totp ? "phone" : "passkeys"}, they are the only way in.` : "",
      );
    const formSlot = h("div", {});
    const newCodes = h("button", { type: "button", class: "secondary", "data-testid": "two-step-new-codes" }, "New recovery codes");
    newCodes.addEventListener("click", () => formSlot.replaceChildren(newCodesForm(formSlot, status)));
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
      if (status.passkeys > 0) {
        return render(
          true,
          ...nodes(said),
          h(
            "p",
            { "data-testid": "two-step-status", "data-state": "passkeys" },
            h("strong", {}, "On, with passkeys."),
            " After your password, we ask for one of your passkeys (see Passkeys below).",
          ),
          codesLeft(),
          h("p", { class: "muted" }, "You can also use a six-digit code from an authenticator app on your phone as your second step."),
          h("div", { class: "actions" }, setUp, newCodes),
          problem,
          formSlot,
        );
      }
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
    const turnOff = h("button", { type: "button", class: "secondary", "data-testid": "two-step-turn-off" }, "Turn off");
    turnOff.addEventListener("click", () => formSlot.replaceChildren(turnOffForm(formSlot, status)));
    render(
      true,
      ...nodes(said),
      h(
        "p",
        { "data-testid": "two-step-status", "data-state": "on" },
        h("strong", {}, "On."),
        status.passkeys > 0
          ? " After your password, we ask for a code from your authenticator app, or one of your passkeys."
          : " After your password, we ask for a code from your authenticator app.",
      ),
      codesLeft(),
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
        // The server makes new recovery codes here even when a passkey brought some already.
        const notice =
          latest.passkeys > 0 ? "Authenticator-app codes are on. These recovery codes replace the ones you had: those no longer work." : "Two-step sign-in is on.";
        showRecoveryCodes(answer.ok, notice, true);
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
  const showRecoveryCodes = (codes: RecoveryCodes, notice: string, app: boolean): void => {
    const lost = !app
      ? "If you lose your passkeys, each of these codes signs you in once instead."
      : latest.passkeys > 0
        ? "If you lose your phone and your passkeys, each of these codes signs you in once instead."
        : "If you lose your phone, each of these codes signs you in once instead of the app.";
    const block = recoveryCodesBlock(codes.recovery_codes, lost, () => void refresh());
    render(false, h("p", { class: "notice", role: "status", "data-testid": "two-step-notice" }, notice), ...block.nodes);
    block.focus();
  };

  /**
   * The password and a fresh factor for a change to the second step: a code from the app or a
   * recovery code, or (the code left empty, on an account with passkeys) a passkey's answer.
   */
  const changeForm = (
    slot: HTMLElement,
    status: MfaStatus,
    testid: string,
    title: string,
    explanation: string,
    submitLabel: string,
    submit: (request: MfaChangeRequest) => Promise<Outcome>,
  ): HTMLFormElement => {
    const withPasskey = status.passkeys > 0;
    const form = h(
      "form",
      { class: "inset", "data-testid": testid, novalidate: true },
      h("h3", {}, title),
      h("p", { class: "muted" }, explanation),
      field("Password", "password", "password", "current-password"),
      codeField(status.totp ? "Code from your authenticator app, or a recovery code" : "Recovery code", "code", status.totp ? "either" : "recovery", !withPasskey),
      withPasskey ? h("p", { class: "muted" }, "Leave the code empty to confirm with one of your passkeys instead.") : null,
      h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel), cancelButton(() => slot.replaceChildren())),
    );
    return withSubmit(form, async () => {
      const typed = formText(form, "code");
      const factor = withPasskey && typed.trim() === "" ? await actions.passkey() : { ok: actions.secondFactor(typed) };
      if (!isOk(factor)) return settled(factor);
      const rejected =
        factor.ok.passkey === undefined
          ? "The password or the code is not right. Each code works once: if you have just used one, wait for the next."
          : "The password is not right, or that passkey is not one of this account's.";
      return settled(await submit({ password: formText(form, "password"), ...factor.ok }), rejected);
    });
  };

  const turnOffForm = (slot: HTMLElement, status: MfaStatus): HTMLFormElement =>
    changeForm(
      slot,
      status,
      "two-step-turn-off-form",
      status.passkeys > 0 ? "Turn off authenticator-app codes" : "Turn off two-step sign-in",
      status.passkeys > 0
        ? "Your passkeys stay your second step, and your recovery codes keep working."
        : "Your password alone will sign you in, and your recovery codes stop working.",
      "Turn off",
      async (request) => {
        const answer = await actions.turnOff(request);
        if (!isOk(answer)) return answer;
        await refresh(status.passkeys > 0 ? "Authenticator-app codes are off: your passkeys are still your second step." : "Two-step sign-in is off.");
        return null;
      },
    );

  const newCodesForm = (slot: HTMLElement, status: MfaStatus): HTMLFormElement =>
    changeForm(
      slot,
      status,
      "two-step-new-codes-form",
      "New recovery codes",
      "Ten new codes replace the ones you have: those stop working.",
      "Make new codes",
      async (request) => {
        const answer = await actions.newRecoveryCodes(request);
        if (!isOk(answer)) return answer;
        showRecoveryCodes(answer.ok, "Your old recovery codes no longer work.", latest.totp);
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

function nodes(node: Node | null): Node[] {
  return node ? [node] : [];
}
