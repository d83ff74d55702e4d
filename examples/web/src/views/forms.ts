// What every form of the example shares: labelled inputs, and a submit that runs the action
// instead of sending the form (the CSP's form-action 'none' forbids sending it anyway).
import type { ErrorBody } from "@patient-auth/client";
import { h } from "../dom";

/**
 * What a form's action answers: null when it went through (the action has shown what comes
 * next), a sentence to show under the button, or the API's error body. A 422's `fields` are
 * shown under the inputs of the same name (the rest under the button, with the message).
 */
export type Outcome = null | string | ErrorBody;

/** What an action answers: the server's answer, or what to show instead (see Outcome). */
export type Answer<T> = { ok: T } | Outcome;

export function isOk<T>(answer: Answer<T>): answer is { ok: T } {
  return typeof answer === "object" && answer !== null && "ok" in answer;
}

export function cancelButton(go: () => void): HTMLButtonElement {
  const button = h("button", { type: "button", class: "link" }, "Cancel");
  button.addEventListener("click", go);
  return button;
}

export function field(label: string, name: string, type: string, autocomplete: string, required = true): HTMLElement {
  return h("label", {}, label, h("input", { name, type, autocomplete, required }));
}

/**
 * A field for a one-time code: never spell-checked or capitalised; an app code brings up the
 * digits on a phone and can be filled in by the phone's own code autofill.
 */
export function codeField(label: string, name: string, kind: "app" | "recovery" | "either", required = true): HTMLElement {
  return h(
    "label",
    {},
    label,
    h("input", {
      name,
      type: "text",
      autocomplete: kind === "recovery" ? "off" : "one-time-code",
      inputmode: kind === "app" ? "numeric" : undefined,
      spellcheck: "false",
      autocapitalize: "none",
      required,
    }),
  );
}

/** Runs `submit` instead of sending the form; shows its outcome. */
export function withSubmit(form: HTMLFormElement, submit: () => Promise<Outcome>): HTMLFormElement {
  const error = h("p", { class: "error", role: "alert" });
  form.append(error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    error.textContent = "";
    clearFieldErrors(form);
    void submit().then((outcome) => {
      if (button) button.disabled = false;
      error.textContent = typeof outcome === "string" || outcome === null ? (outcome ?? "") : show(form, outcome);
    });
  });
  return form;
}

/** Puts each field's problem under its input; answers the text for under the button. */
function show(form: HTMLFormElement, error: ErrorBody): string {
  const elsewhere: string[] = [];
  for (const [name, problem] of Object.entries(error.fields ?? {})) {
    const input = form.querySelector<HTMLInputElement>(`input[name="${CSS.escape(name)}"]`);
    if (!input) {
      elsewhere.push(`${name}: ${problem}`);
      continue;
    }
    const id = `${form.dataset.testid ?? "form"}-${name}-problem`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.insertAdjacentElement("afterend", h("span", { class: "field-error", id, "data-testid": "field-error" }, problem));
  }
  return [error.message, ...elsewhere].join(" — ");
}

function clearFieldErrors(form: HTMLFormElement): void {
  for (const problem of form.querySelectorAll(".field-error")) problem.remove();
  for (const input of form.querySelectorAll("input[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}
