// RFC 6238 codes, as an authenticator app makes them from the secret the example shows: HMAC-SHA1
// over the 30-second step, dynamic truncation (RFC 4226), six digits. A test that needs a code
// the server has not seen yet asks for a later step (`at: Date.now() + 30_000`): the server
// accepts one step of skew, and each step only once per account.
import { createHmac } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const STEP_SECONDS = 30;
const DIGITS = 6;

/** RFC 4648 base32, upper or lower case, spaces and padding ignored. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, "").toUpperCase();
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index === -1) throw new Error(`not base32: ${JSON.stringify(char)} in ${JSON.stringify(text)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** The code an app shows at `at` (milliseconds since the epoch). */
export function totp(secret: string, at: number = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / STEP_SECONDS)));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const number = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 10 ** DIGITS).padStart(DIGITS, "0");
}

/** Six digits the server cannot accept now: none of the codes of the steps it would take. */
export function wrongCode(secret: string, at: number = Date.now()): string {
  const near = new Set([-2, -1, 0, 1, 2].map((step) => totp(secret, at + step * STEP_SECONDS * 1000)));
  for (let candidate = 0; ; candidate++) {
    const code = String((Number(totp(secret, at)) + 1 + candidate) % 10 ** DIGITS).padStart(DIGITS, "0");
    if (!near.has(code)) return code;
  }
}
