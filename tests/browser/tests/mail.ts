// The messages patient-auth sent, as the SMTP server run.sh started received them: one .eml file
// each in env.mailDir, named by the time it arrived. A small reader of what the server writes:
// headers (RFC 5322, folded lines, RFC 2047 words), multipart/alternative, 7bit/8bit/base64.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { env } from "./env";

export interface Mail {
  file: string;
  /** Header names in lower case; folded lines unfolded. */
  headers: Map<string, string>;
  subject: string;
  /** The text/plain part, and the text/html part ("" when there is none). */
  text: string;
  html: string;
}

/** Why a spec is skipped when run.sh had no SMTP server to start. */
export const noMailServer = "no SMTP server: run.sh found no Python with aiosmtpd";

/**
 * The `nth` (1-based, in order of arrival) message to `address` with this subject, once it has
 * arrived. The server's worker sends within a second or so of the request that queued it.
 */
export async function waitForMail(address: string, subject: string, nth = 1, timeoutMs = 20_000): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  let seen: Mail[] = [];
  for (;;) {
    seen = await mailTo(address);
    const matching = seen.filter((mail) => mail.subject === subject);
    const found = matching[nth - 1];
    if (found) return found;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const subjects = seen.map((mail) => JSON.stringify(mail.subject)).join(", ") || "none";
  throw new Error(`no message #${nth} "${subject}" to ${address} within ${timeoutMs} ms (received: ${subjects})`);
}

/** Every message to `address` so far, oldest first. */
export async function mailTo(address: string): Promise<Mail[]> {
  if (!env.mailDir) throw new Error(noMailServer);
  // A message appears complete (the sink writes NAME.eml.partial, then renames it).
  const files = (await readdir(env.mailDir)).filter((name) => name.endsWith(".eml")).sort();
  const mails = await Promise.all(files.map(async (name) => parseMail(name, await readFile(path.join(env.mailDir!, name)))));
  const wanted = address.toLowerCase();
  return mails.filter((mail) => addresses(mail.headers.get("to") ?? "").includes(wanted));
}

/**
 * The link to `${env.appUrl}${page}#token=…` in the message: the same in its text and HTML
 * parts, and its token the 43 characters of 256 bits in base64url.
 */
export function linkIn(mail: Mail, page: string): string {
  const escaped = `${env.appUrl}${page}`.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const pattern = new RegExp(`${escaped}#token=[A-Za-z0-9_-]+`, "g");
  const inText = mail.text.match(pattern) ?? [];
  const inHtml = mail.html.match(pattern) ?? [];
  const link = inText[0];
  if (!link) throw new Error(`no ${env.appUrl}${page}#token=… link in ${mail.file}:\n${mail.text}`);
  if (!/#token=[A-Za-z0-9_-]{43}$/.test(link)) throw new Error(`unexpected token in ${link}`);
  if (inHtml.length === 0 || inHtml.some((other) => other !== link) || inText.some((other) => other !== link)) {
    throw new Error(`the parts of ${mail.file} do not carry one and the same link`);
  }
  return link;
}

export function parseMail(file: string, raw: Buffer): Mail {
  const { headers, body } = splitEntity(raw.toString("utf8"));
  const parts = new Map<string, string>();
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    // Between the first delimiter and the closing one; each part has headers of its own.
    const sections = body.split(new RegExp(`^--${boundary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:--)?[ \\t]*$`, "m"));
    for (const section of sections.slice(1, -1)) {
      const part = splitEntity(section.replace(/^\n/, ""));
      parts.set(mediaType(part.headers), decode(part.headers, part.body));
    }
  } else {
    parts.set(mediaType(headers), decode(headers, body));
  }
  return {
    file,
    headers,
    subject: decodeWords(headers.get("subject") ?? ""),
    text: parts.get("text/plain") ?? "",
    html: parts.get("text/html") ?? "",
  };
}

function splitEntity(text: string): { headers: Map<string, string>; body: string } {
  const normalised = text.replace(/\r\n/g, "\n");
  const end = normalised.indexOf("\n\n");
  const head = end === -1 ? normalised : normalised.slice(0, end);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: end === -1 ? "" : normalised.slice(end + 2) };
}

function mediaType(headers: Map<string, string>): string {
  return (headers.get("content-type") ?? "text/plain").split(";")[0]!.trim().toLowerCase();
}

function decode(headers: Map<string, string>, body: string): string {
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  if (encoding === "7bit" || encoding === "8bit") return body;
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  throw new Error(`Content-Transfer-Encoding ${encoding} is not read here`);
}

/** RFC 2047 encoded words (=?utf-8?B?…?= and =?utf-8?Q?…?=), e.g. an Arabic subject. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, "$1$2")
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, kind: string, text: string) =>
      kind.toUpperCase() === "B"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            "latin1",
          ).toString("utf8"),
    );
}

/** The addresses of a To header, in lower case: `"Name" <a@b>, c@d` → ["a@b", "c@d"]. */
function addresses(header: string): string[] {
  return [...header.matchAll(/<([^>]+)>|([^\s,<>"]+@[^\s,<>"]+)/g)].map((m) => (m[1] ?? m[2] ?? "").toLowerCase());
}
