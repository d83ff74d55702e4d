// Where the patient is signed in, newest first; any session but this tab's can be ended here
// (this tab's ends with "Log out").
import type { Session as DeviceSession } from "@patient-auth/client";
import { formatDateTime, h } from "../dom";

export function sessionsView(sessions: DeviceSession[], endSession: (sessionId: string) => void): HTMLElement {
  const item = (session: DeviceSession): HTMLElement =>
    h(
      "li",
      { "data-testid": "session", "data-current": String(session.current) },
      h("strong", {}, session.current ? "This tab" : session.user_agent ?? "Unknown device"),
      h(
        "span",
        { class: "muted" },
        ` — signed in ${formatDateTime(session.created_at)}` +
          signedInWith(session.amr) +
          `, last used ${formatDateTime(session.last_used_at)}` +
          (session.ip ? ` from ${session.ip}` : ""),
      ),
      session.current ? null : endButton(session.session_id, endSession),
    );
  return h(
    "section",
    { class: "sessions", "data-testid": "sessions" },
    h("h2", {}, "Where you are signed in"),
    h("ul", {}, ...sessions.map(item)),
  );
}

/** How the session began (its `amr`): a passkey alone, or a second step after the password. */
function signedInWith(amr: readonly string[]): string {
  if (amr.includes("hwk")) return amr.includes("pwd") ? " with a second step (a passkey)" : " with a passkey";
  return amr.includes("otp") ? " with a second step" : "";
}

function endButton(sessionId: string, endSession: (sessionId: string) => void): HTMLElement {
  const button = h("button", { type: "button", class: "secondary" }, "End this session");
  button.addEventListener("click", () => {
    button.disabled = true;
    endSession(sessionId);
  });
  return button;
}
