/**
 * Unpadded Base64, as the Matrix appendix defines it: RFC 4648 Base64 without `=` padding, in
 * the standard alphabet and in the URL-safe one (`-` and `_` for values 62 and 63).
 *
 * Decoding is strict about the alphabet and the length but follows the spec's advice to accept
 * input with or without padding. Non-zero trailing bits in the last character are accepted
 * (as Python's decoder, and so Synapse, does): the spec's own test-vector signing seed
 * `YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1` ends in such a character.
 *
 * @module
 */

const STANDARD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const STANDARD_DECODE = buildDecodeTable(STANDARD_ALPHABET);
const URL_SAFE_DECODE = buildDecodeTable(URL_SAFE_ALPHABET);

/** Raised when a string is not valid (padded or unpadded) Base64 in the expected alphabet. */
export class Base64Error extends Error {
  /** Matrix error code a request handler can send back as-is. */
  readonly code = "M_INVALID_PARAM";

  /** @param message what is wrong with the input, and where */
  constructor(message: string) {
    super(message);
    this.name = "Base64Error";
  }
}

/** Encodes bytes as unpadded Base64 in the standard alphabet (`+` and `/`). */
export function encodeBase64(bytes: Uint8Array): string {
  return encodeWith(bytes, STANDARD_ALPHABET);
}

/**
 * Decodes standard-alphabet Base64, padded or unpadded.
 *
 * @throws {Base64Error} on characters outside the alphabet (including URL-safe `-` and `_`),
 *   misplaced or partial padding, or a length that no byte string encodes to (length % 4 == 1).
 */
export function decodeBase64(text: string): Uint8Array {
  return decodeWith(text, STANDARD_DECODE, "Base64");
}

/** Encodes bytes as unpadded URL-safe Base64 (`-` and `_`). */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeWith(bytes, URL_SAFE_ALPHABET);
}

/**
 * Decodes URL-safe Base64, padded or unpadded.
 *
 * @throws {Base64Error} on characters outside the URL-safe alphabet (including standard `+` and
 *   `/`), misplaced or partial padding, or an impossible length.
 */
export function decodeBase64Url(text: string): Uint8Array {
  return decodeWith(text, URL_SAFE_DECODE, "URL-safe Base64");
}

function buildDecodeTable(alphabet: string): Int8Array {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}

function encodeWith(bytes: Uint8Array, alphabet: string): string {
  const parts: string[] = [];
  let chunk = "";
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] +
      alphabet[n & 63];
    // Keep intermediate strings short so huge inputs do not build one deep rope.
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = "";
    }
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const n = bytes[whole] << 16;
    chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[whole] << 16) | (bytes[whole + 1] << 8);
    chunk += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63];
  }
  parts.push(chunk);
  return parts.join("");
}

function decodeWith(text: string, table: Int8Array, label: string): Uint8Array {
  if (typeof text !== "string") throw new Base64Error(`${label} input must be a string`);
  let length = text.length;
  if (length > 0 && text.charCodeAt(length - 1) === 0x3d /* = */) {
    if (length % 4 !== 0) {
      throw new Base64Error(
        `${label} padding is incomplete: length ${length} is not a multiple of 4`,
      );
    }
    length--;
    if (text.charCodeAt(length - 1) === 0x3d) length--;
    // "xxx=" leaves 3 characters in the last group and "xx==" leaves 2; anything else is bogus.
    if (length % 4 < 2) throw new Base64Error(`${label} has too much padding`);
  }
  const remainder = length % 4;
  if (remainder === 1) {
    throw new Base64Error(`${label} length ${length} is impossible (length % 4 == 1)`);
  }
  const out = new Uint8Array(
    ((length - remainder) / 4) * 3 + (remainder === 0 ? 0 : remainder - 1),
  );
  const whole = length - remainder;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const n = (sextet(text, i, table, label) << 18) | (sextet(text, i + 1, table, label) << 12) |
      (sextet(text, i + 2, table, label) << 6) | sextet(text, i + 3, table, label);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (remainder >= 2) {
    const n = (sextet(text, whole, table, label) << 18) |
      (sextet(text, whole + 1, table, label) << 12) |
      (remainder === 3 ? sextet(text, whole + 2, table, label) << 6 : 0);
    out[o++] = n >> 16;
    if (remainder === 3) out[o++] = (n >> 8) & 255;
  }
  return out;
}

function sextet(text: string, index: number, table: Int8Array, label: string): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? table[code] : -1;
  if (value < 0) {
    const shown = code === 0x3d ? "padding '='" : `character ${JSON.stringify(text[index])}`;
    throw new Base64Error(`${label} has an invalid ${shown} at offset ${index}`);
  }
  return value;
}
