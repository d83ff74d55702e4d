// Over the profile while the address is not verified: what to do, and a fresh link on request.
import { h } from "../dom";

/** `resend` answers what to show (the server's 202 message, or the problem); null when it handled it. */
export function verifyBanner(email: string, resend: () => Promise<string | null>): HTMLElement {
  const button = h("button", { type: "button", class: "secondary", "data-testid": "resend-verification" }, "Send a new link");
  const answer = h("span", { role: "status", "data-testid": "resend-result" });
  button.addEventListener("click", () => {
    button.disabled = true;
    answer.textContent = "";
    void resend().then((message) => {
      button.disabled = false;
      if (message !== null) answer.textContent = message;
    });
  });
  return h(
    "div",
    { class: "notice banner", "data-testid": "verify-banner" },
    h("p", {}, "Please confirm your email address: open the link we sent to ", h("strong", {}, email), "."),
    h("div", { class: "actions" }, button, answer),
  );
}
