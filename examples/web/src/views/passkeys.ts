// "Passkeys" on the profile: the patient's passkeys (GET /auth/passkeys), adding one (the
// password, a name, and whether it signs in alone; then the browser's prompt; the account's
// first second factor also brings the ten recovery codes, shown once), and removing one (the
// password and a fresh factor: one of the passkeys, or a code from the app or a recovery code).
import { isErrorCode, type MfaStatus, type Passkey, type PasskeyAdded, type PasskeyRemoveRequest, type SecondFactor } from "@patient-auth/client";
import { formatDateTime, formText, h } from "../dom";
import { cancelButton, codeField, field, isOk, withSubmit, type Answer } from "./forms";
import { recoveryCodesBlock } from "./recovery-codes";

export interface PasskeyActions {
  /** Asks the server for options with the password, has the browser make the passkey, and adds it. */
  add(password: string, passwordless: boolean, name: string): Promise<Answer<PasskeyAdded>>;
  remove(request: PasskeyRemoveRequest): Promise<Answer<unknown>>;
  /** What the patient typed as "a code from the app or a recovery code", as the field it belongs in. */
  secondFactor(typed: string): SecondFactor;
  /** One of the patient's passkeys answers (the browser asks), as the fresh factor of a change. */
  passkey(): Promise<Answer<SecondFactor>>;
  /** The page loads again (the passkeys, the second step's status); resolves once shown. */
  changed(): Promise<void>;
}

export interface PasskeysSection {
  element: HTMLElement;
  /** Shows newer passkeys and status, unless the patient is reading recovery codes. */
  update(passkeys: readonly Passkey[], status: MfaStatus): void;
  /** A newer status alone (the two-step section changed it): kept for the next form opened. */
  updateStatus(status: MfaStatus): void;
}

export function passkeysSection(
  initial: readonly Passkey[],
  initialStatus: MfaStatus,
  supported: boolean,
  actions: PasskeyActions,
): PasskeysSection {
  const element = h("section", { class: "passkeys card", "data-testid": "passkeys" });
  let passkeys = initial;
  let status = initialStatus;
  // False while the patient reads the recovery codes: a reload of the page must not take them away.
  let resting = true;

  const render = (atRest: boolean, ...children: Node[]): void => {
    resting = atRest;
    element.replaceChildren(h("h2", {}, "Passkeys"), ...children);
  };

  /** The list, with what can be done from there; `notice` says what just happened. */
  const showList = (notice: string | null = null): void => {
    const formSlot = h("div", {});
    const add = h("button", { type: "button", "data-testid": "passkey-add" }, "Add a passkey");
    add.addEventListener("click", () => formSlot.replaceChildren(addForm(formSlot)));
    const item = (passkey: Passkey): HTMLElement => {
      const remove = h("button", { type: "button", class: "secondary" }, "Remove");
      remove.addEventListener("click", () => formSlot.replaceChildren(removeForm(formSlot, passkey)));
      return h(
        "li",
        { "data-testid": "passkey", "data-passwordless": String(passkey.passwordless) },
        h("strong", {}, passkey.name),
        h(
          "span",
          { class: "muted" },
          (passkey.passwordless ? " — signs you in on its own" : " — second step after your password") +
            `, added ${formatDateTime(passkey.created_at)}` +
            (passkey.last_used_at ? `, last used ${formatDateTime(passkey.last_used_at)}` : ", not used yet"),
        ),
        remove,
      );
    };
    render(
      true,
      ...(notice ? [h("p", { class: "notice", role: "status", "data-testid": "passkeys-notice" }, notice)] : []),
      h(
        "p",
        { class: "muted" },
        "A passkey stays on this device, your phone or a security key, and is unlocked with your fingerprint, face, PIN or screen lock. " +
          "Use one as the second step after your password, or to sign in without a password at all.",
      ),
      passkeys.length > 0
        ? h("ul", { "data-testid": "passkey-list" }, ...passkeys.map(item))
        : h("p", { "data-testid": "passkey-list" }, "No passkeys yet."),
      supported
        ? h("div", { class: "actions" }, add)
        : h("p", { class: "notice problem" }, "This browser cannot use passkeys on this page (they need https:, or http://localhost)."),
      formSlot,
    );
  };

  const addForm = (slot: HTMLElement): HTMLFormElement => {
    const form = h(
      "form",
      { class: "inset", "data-testid": "passkey-add-form", novalidate: true },
      h("h3", {}, "Add a passkey"),
      h("p", { class: "muted" }, "Then your browser asks you to make it: with your fingerprint, face, PIN or screen lock, or a security key."),
      field("Password", "password", "password", "current-password"),
      field("Name (optional, e.g. “Laptop” or “Phone”)", "name", "text", "off", false),
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "passwordless", value: "yes" }),
        "Sign in with this passkey alone, without the password",
      ),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add passkey"), cancelButton(() => slot.replaceChildren())),
    );
    return withSubmit(form, async () => {
      const passwordless = formText(form, "passwordless") === "yes";
      const answer = await actions.add(formText(form, "password"), passwordless, formText(form, "name").trim());
      if (!isOk(answer)) return isErrorCode(answer, "invalid_credentials") ? "That password is not right." : answer;
      await actions.changed();
      const added = `“${answer.ok.passkey.name}” is added: ${
        answer.ok.passkey.passwordless ? "it signs you in on its own, or as the second step after your password." : "after your password, it is your second step."
      }`;
      const codes = answer.ok.recovery_codes;
      if (codes) showRecoveryCodes(codes, added);
      else showList(added);
      return null;
    });
  };

  const removeForm = (slot: HTMLElement, passkey: Passkey): HTMLFormElement => {
    const form = h(
      "form",
      { class: "inset", "data-testid": "passkey-remove-form", novalidate: true },
      h("h3", {}, `Remove “${passkey.name}”`),
      h("p", { class: "muted" }, "Confirm with your password and a passkey (this one will do)."),
      field("Password", "password", "password", "current-password"),
      codeField(status.totp ? "Or a code from your authenticator app, or a recovery code" : "Or a recovery code", "code", status.totp ? "either" : "recovery", false),
      h("p", { class: "muted" }, "Leave the code empty to confirm with a passkey."),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Remove passkey"), cancelButton(() => slot.replaceChildren())),
    );
    return withSubmit(form, async () => {
      const typed = formText(form, "code");
      const factor = typed.trim() === "" ? await actions.passkey() : { ok: actions.secondFactor(typed) };
      if (!isOk(factor)) return factor;
      const answer = await actions.remove({ passkey_id: passkey.id, password: formText(form, "password"), ...factor.ok });
      if (isErrorCode(answer, "not_found")) {
        // Removed meanwhile (another tab): the list as it is now.
        await actions.changed();
        showList(answer.message);
        return null;
      }
      if (isErrorCode(answer, "invalid_credentials")) {
        return factor.ok.passkey === undefined
          ? "The password or the code is not right. Each code works once: if you have just used one, wait for the next."
          : "The password is not right, or that passkey is not one of this account's.";
      }
      if (!isOk(answer)) return answer;
      await actions.changed();
      const lastFactor = status.passkeys === 0 && !status.totp ? " Two-step sign-in is off: your password alone signs you in, and your recovery codes no longer work." : "";
      showList(`“${passkey.name}” is removed. The device may still list it: remove it there too, in its passkey settings.${lastFactor}`);
      return null;
    });
  };

  /** Shown this once (the server keeps only hashes); the patient says when they have them. */
  const showRecoveryCodes = (codes: readonly string[], notice: string): void => {
    const block = recoveryCodesBlock(
      codes,
      "If you lose your passkeys, each of these codes signs you in once (after your password) instead.",
      () => showList(),
    );
    render(false, h("p", { class: "notice", role: "status", "data-testid": "passkeys-notice" }, notice), ...block.nodes);
    block.focus();
  };

  showList();
  return {
    element,
    update: (newer, newerStatus) => {
      passkeys = newer;
      status = newerStatus;
      if (resting) showList();
    },
    updateStatus: (newerStatus) => {
      status = newerStatus;
    },
  };
}
