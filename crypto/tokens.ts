/**
 * Randomness, secret comparison and HMACs: access tokens, session IDs, nonces, and the
 * shared-secret registration MAC.
 *
 * @module
 */

import { encodeBase64Url } from "./base64.ts";

/** Letters and digits: the default alphabet of {@link randomString}. */
export const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** crypto.getRandomValues refuses more than this many bytes per call. */
const MAX_RANDOM_CHUNK = 65536;
const encoder = new TextEncoder();

/** Returns `n` cryptographically secure random bytes. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`randomBytes: byte count must be a non-negative integer, got ${n}`);
  }
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += MAX_RANDOM_CHUNK) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + MAX_RANDOM_CHUNK)));
  }
  return bytes;
}

/**
 * Returns a random token of `bytes` random bytes (default 32, i.e. 256 bits) encoded as
 * unpadded URL-safe Base64, safe in URLs, headers and JSON without escaping.
 */
export function randomToken(bytes = 32): string {
  return encodeBase64Url(randomBytes(bytes));
}

/**
 * Returns `length` characters drawn uniformly from `alphabet` (default: ASCII letters and
 * digits). Uses rejection sampling, so no character is more likely than another.
 *
 * @param length how many characters (code points) to return
 * @param alphabet distinct characters to draw from; astral characters count as one
 * @throws {RangeError} for a negative length or an empty, oversized or repetitive alphabet
 */
export function randomString(length: number, alphabet: string = ALPHANUMERIC): string {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`randomString: length must be a non-negative integer, got ${length}`);
  }
  const symbols = alphabetSymbols(alphabet);
  const size = symbols.length;
  if (size === 1) return symbols[0].repeat(length);
  const wide = size > 256;
  const space = wide ? 65536 : 256;
  // Accept only samples below the largest multiple of `size`; `sample % size` is then uniform.
  const limit = space - (space % size);
  let out = "";
  let count = 0;
  while (count < length) {
    const need = length - count;
    // Ask for a little more than needed so one round usually suffices despite rejections.
    const batch = Math.min(MAX_RANDOM_CHUNK, Math.ceil((need * space) / limit) + 8);
    const samples = wide ? new Uint16Array(randomBytes(batch * 2).buffer) : poolBytes(batch);
    for (let i = 0; i < samples.length && count < length; i++) {
      if (samples[i] < limit) {
        out += symbols[samples[i] % size];
        count++;
      }
    }
  }
  return out;
}

/** Checked alphabets (event IDs and tokens draw from a handful): splitting one costs more. */
const alphabets = new Map<string, readonly string[]>();

function alphabetSymbols(alphabet: string): readonly string[] {
  const known = alphabets.get(alphabet);
  if (known) return known;
  const symbols = Array.from(alphabet);
  const size = symbols.length;
  if (size === 0 || size > 65536) {
    throw new RangeError(`randomString: alphabet must have 1..65536 characters, has ${size}`);
  }
  if (new Set(symbols).size !== size) {
    // A repeated character would be drawn more often than the others.
    throw new RangeError("randomString: alphabet has repeated characters");
  }
  if (alphabets.size < 16) alphabets.set(alphabet, symbols);
  return symbols;
}

/**
 * Random bytes for {@link randomString}, taken from a buffer refilled 4 KiB at a time: one
 * `getRandomValues` call per event ID costs more than drawing its characters. Each byte is
 * handed out once, and the copy is the caller's.
 */
const pool = new Uint8Array(4096);
let poolOffset = pool.length;

function poolBytes(n: number): Uint8Array {
  if (n > pool.length) return randomBytes(n);
  if (poolOffset + n > pool.length) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + n);
  // Spent bytes are zeroed, so nothing drawn stays readable in the pool.
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

/**
 * Compares two secrets without an early exit on the first differing byte, so the time taken
 * does not reveal where they differ. Strings are compared as UTF-8. Inputs of different lengths
 * are unequal; that (and only the length) may show in the timing.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === "string" ? encoder.encode(a) : a;
  const y = typeof b === "string" ? encoder.encode(b) : b;
  // Walk `x` in full either way; against itself when lengths differ, to keep the loop shape.
  const other = x.length === y.length ? y : x;
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ other[i];
  return diff === 0;
}

/** Computes HMAC-SHA-256 of `message` under `key` (WebCrypto). Returns the 32-byte MAC. */
export async function hmacSha256(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  return await hmac("SHA-256", key, message);
}

/**
 * Computes HMAC-SHA-1 as lowercase hex, the MAC Synapse's shared-secret registration
 * (`/_synapse/admin/v1/register`) expects. Strings are taken as UTF-8.
 */
export async function hmacSha1Hex(key: string, message: Uint8Array | string): Promise<string> {
  const data = typeof message === "string" ? encoder.encode(message) : message;
  const mac = await hmac("SHA-1", encoder.encode(key), data);
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function hmac(hash: string, key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, message as Uint8Array<ArrayBuffer>);
  return new Uint8Array(mac);
}
