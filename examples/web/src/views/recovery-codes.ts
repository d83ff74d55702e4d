// The ten recovery codes the server answers once (setting up the app, new codes, a first
// passkey): shown until the patient says they have them; nothing keeps them afterwards.
import { h } from "../dom";

/** `lost` says what the codes stand in for; `saved` runs on "I have saved them". */
export function recoveryCodesBlock(codes: readonly string[], lost: string, saved: () => void): { nodes: Node[]; focus(): void } {
  const button = h("button", { type: "button", "data-testid": "recovery-codes-saved" }, "I have saved them");
  button.addEventListener("click", saved);
  return {
    nodes: [
      h("h3", {}, "Your recovery codes"),
      h(
        "p",
        {},
        `${lost} Print them or write them down, and keep them somewhere safe: they are shown only now.`,
      ),
      h("ul", { class: "recovery-codes", "data-testid": "recovery-codes" }, ...codes.map((code) => h("li", {}, h("code", {}, code)))),
      h("div", { class: "actions" }, button),
    ],
    focus: () => button.focus(),
  };
}
