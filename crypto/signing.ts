/**
 * Ed25519 signing keys and JSON signatures, per the appendix "Signing JSON": the signed bytes
 * are the canonical JSON of the object without `signatures` and `unsigned`; the signature goes
 * into `signatures[<entity>][<algorithm>:<version>]` as unpadded Base64.
 *
 * Signing uses `node:crypto`'s synchronous Ed25519 (about a third of the cost of WebCrypto's
 * `sign` per call; Ed25519 is deterministic, so the bytes are the same). The async verifier uses
 * WebCrypto; {@link verifyJsonSignatureSync} uses `node:crypto` for callers that cannot await
 * (the room engine's auth rules).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import {
  Base64Error,
  decodeBase64,
  decodeBase64Url,
  encodeBase64,
  encodeBase64Url,
} from "./base64.ts";
import { canonicalJsonBytes, type CanonicalJsonOptions } from "./canonical_json.ts";
import { randomBytes, randomString } from "./tokens.ts";

/** The only signing algorithm Matrix defines. */
export const ED25519 = "ed25519";

/** Key versions may only use these characters (Server-Server API, server keys). */
const KEY_VERSION = /^[A-Za-z0-9_]+$/;
/** DER header of a PKCS#8 Ed25519 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = hex("302e020100300506032b657004220420");
/** DER header of an SPKI Ed25519 public key; the 32-byte key follows. */
const SPKI_PREFIX = hex("302a300506032b6570032100");
const KEY_CACHE_LIMIT = 512;

/** Raised for unusable key material or key identifiers. */
export class SigningError extends Error {
  /** Matrix error code a request handler can send back as-is. */
  readonly code: string;

  /**
   * @param message what is wrong
   * @param code Matrix error code, `M_INVALID_PARAM` unless told otherwise
   */
  constructor(message: string, code = "M_INVALID_PARAM") {
    super(message);
    this.name = "SigningError";
    this.code = code;
  }
}

/**
 * An Ed25519 signing key with its key identifier (`ed25519:<version>`). The 32-byte seed stays
 * private: it is left out of `toJSON()` and of `Deno.inspect`/`console.log` output, and only
 * {@link SigningKey.toSeedString} reveals it, for writing the key file.
 */
export class SigningKey {
  /** Key identifier, e.g. `ed25519:a_AbCd`. */
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The public key as unpadded Base64, as published in `verify_keys`. */
  readonly publicKeyBase64: string;
  readonly #seed: Uint8Array;
  readonly #privateKey: KeyObject;

  private constructor(keyId: string, seed: Uint8Array, publicKey: Uint8Array, key: KeyObject) {
    this.keyId = keyId;
    this.#seed = seed;
    this.publicKey = publicKey;
    this.publicKeyBase64 = encodeBase64(publicKey);
    this.#privateKey = key;
  }

  /** The version part of {@link keyId} (after `ed25519:`). */
  get version(): string {
    return this.keyId.slice(ED25519.length + 1);
  }

  /**
   * Creates a key from a fresh random seed.
   *
   * @param version key version; a random `a_XXXX` if omitted
   */
  static async generate(version?: string): Promise<SigningKey> {
    const v = version ?? `a_${randomString(4)}`;
    return await SigningKey.fromSeed(`${ED25519}:${v}`, randomBytes(32));
  }

  /**
   * Rebuilds a key from its identifier and 32-byte seed.
   *
   * @throws {SigningError} if the identifier is not `ed25519:<[A-Za-z0-9_]+>` or the seed is
   *   not 32 bytes
   */
  static async fromSeed(keyId: string, seed: Uint8Array): Promise<SigningKey> {
    const colon = keyId.indexOf(":");
    const algorithm = keyId.slice(0, colon);
    const version = keyId.slice(colon + 1);
    if (colon < 0 || algorithm !== ED25519) {
      throw new SigningError(`Unsupported signing key identifier ${JSON.stringify(keyId)}`);
    }
    if (!KEY_VERSION.test(version)) {
      throw new SigningError(`Key version ${JSON.stringify(version)} must match [A-Za-z0-9_]+`);
    }
    if (!(seed instanceof Uint8Array) || seed.length !== 32) {
      throw new SigningError(`An Ed25519 seed is 32 bytes, got ${seed?.length}`);
    }
    const seedCopy = seed.slice();
    const pkcs8 = concat(PKCS8_PREFIX, seedCopy);
    // Import once extractable to read the public key, then keep a non-extractable handle.
    const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519_ALG, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", extractable);
    if (typeof jwk.x !== "string") throw new SigningError("WebCrypto returned no public key");
    const publicKey = decodeBase64Url(jwk.x); // JWK members are URL-safe unpadded Base64
    const privateKey = createPrivateKey({
      key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength),
      format: "der",
      type: "pkcs8",
    });
    pkcs8.fill(0);
    return new SigningKey(keyId, seedCopy, publicKey, privateKey);
  }

  /**
   * Parses Synapse's signing-key file format: `ed25519 <version> <unpadded base64 seed>`.
   * Surrounding whitespace is ignored; the file may hold several lines, of which the first
   * non-empty one is used.
   *
   * @throws {SigningError} if the line is malformed
   */
  static async fromSeedString(text: string): Promise<SigningKey> {
    const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? "";
    const parts = line.split(/\s+/);
    if (parts.length !== 3 || parts[0] !== ED25519) {
      throw new SigningError("Signing key must look like 'ed25519 <version> <base64 seed>'");
    }
    let seed: Uint8Array;
    try {
      seed = decodeBase64(parts[2]);
    } catch (error) {
      if (error instanceof Base64Error) {
        throw new SigningError(`Signing key seed is not Base64: ${error.message}`);
      }
      throw error;
    }
    return await SigningKey.fromSeed(`${ED25519}:${parts[1]}`, seed);
  }

  /** Serialises the key in Synapse's signing-key file format (reveals the secret seed). */
  toSeedString(): string {
    return `${ED25519} ${this.version} ${encodeBase64(this.#seed)}`;
  }

  /** Signs `message`; returns the 64-byte Ed25519 signature. */
  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(this.signSync(message));
  }

  /** Synchronous {@link sign}. */
  signSync(message: Uint8Array): Uint8Array {
    const signature = nodeSign(null, message, this.#privateKey);
    return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength);
  }

  /** Public fields only; the seed is never serialised. */
  toJSON(): { keyId: string; publicKey: string } {
    return { keyId: this.keyId, publicKey: this.publicKeyBase64 };
  }

  /** A short description without the seed. */
  toString(): string {
    return `SigningKey(${this.keyId}, ${this.publicKeyBase64})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

const ED25519_ALG = { name: "Ed25519" };

/** The `signatures` member of signed JSON: entity name -> key identifier -> Base64 signature. */
export type JsonSignatures = Record<string, Record<string, string>>;

/**
 * Signs a JSON object as the appendix "Signing Details" describes, and returns a NEW object:
 * the input's members plus `signatures[signingName][key.keyId]`, keeping every other signature
 * already present. `unsigned` is carried over but, like `signatures`, not signed.
 *
 * @param object the object to sign; not modified
 * @param signingName the signing entity, usually the server name
 * @param key the signing key
 * @param options `strict` canonical JSON (room versions 6 and later)
 * @throws {SigningError} if `signatures` is present but not an object of objects
 * @throws {import("./canonical_json.ts").CanonicalJsonError} if the object is not canonical JSON
 */
export async function signJson<T extends Record<string, unknown>>(
  object: T,
  signingName: string,
  key: SigningKey,
  options?: CanonicalJsonOptions,
): Promise<T & { signatures: JsonSignatures }> {
  const { signatures, unsigned: _unsigned, ...signed } = object;
  const merged: Record<string, Record<string, string>> = {};
  if (signatures !== undefined) {
    if (!isPlainObject(signatures)) {
      throw new SigningError("'signatures' must be an object", "M_BAD_JSON");
    }
    for (const [entity, entry] of Object.entries(signatures)) {
      if (!isPlainObject(entry)) {
        throw new SigningError(`'signatures.${entity}' must be an object`, "M_BAD_JSON");
      }
      merged[entity] = { ...entry } as Record<string, string>;
    }
  }
  const signature = await key.sign(canonicalJsonBytes(signed, options));
  merged[signingName] = { ...merged[signingName], [key.keyId]: encodeBase64(signature) };
  return { ...object, signatures: merged };
}

/**
 * Checks `object.signatures[signingName][keyId]` against `publicKey` (appendix "Checking for a
 * Signature"), using WebCrypto.
 *
 * @returns true if the signature is valid; false if it is missing, not Base64, not 64 bytes,
 *   made by another key, or the object cannot be encoded as canonical JSON. Never throws.
 */
export async function verifyJsonSignature(
  object: Record<string, unknown>,
  signingName: string,
  keyId: string,
  publicKey: Uint8Array,
  options?: CanonicalJsonOptions,
): Promise<boolean> {
  const parts = signedParts(object, signingName, keyId, options);
  if (parts === null) return false;
  return await verifyEd25519(publicKey, parts.message, parts.signature);
}

/**
 * Synchronous twin of {@link verifyJsonSignature}, built on `node:crypto`, for code that cannot
 * await (third-party invite signatures in the room engine's auth rules). Never throws.
 */
export function verifyJsonSignatureSync(
  object: Record<string, unknown>,
  signingName: string,
  keyId: string,
  publicKey: Uint8Array,
  options?: CanonicalJsonOptions,
): boolean {
  const parts = signedParts(object, signingName, keyId, options);
  if (parts === null) return false;
  return verifyEd25519Sync(publicKey, parts.message, parts.signature);
}

/**
 * Verifies a raw Ed25519 signature with WebCrypto. Imported public keys are cached (bounded),
 * because verifying many events signed by the same server key is the hot path.
 *
 * @returns false for a bad signature, a key or signature of the wrong length, or an unusable
 *   key. Never throws.
 */
export async function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await webCryptoKeys.get(publicKey, importWebCryptoKey);
    return await crypto.subtle.verify(ED25519_ALG, key, asBuffer(signature), asBuffer(message));
  } catch {
    return false;
  }
}

/** Synchronous twin of {@link verifyEd25519}, built on `node:crypto`. Never throws. */
export function verifyEd25519Sync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = nodeKeys.get(publicKey, importNodeKey);
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Decodes an unpadded Base64 public key as found in `verify_keys`; null if malformed. */
export function decodePublicKey(text: unknown): Uint8Array | null {
  if (typeof text !== "string") return null;
  try {
    const key = decodeBase64(text);
    return key.length === 32 ? key : null;
  } catch {
    return null;
  }
}

function signedParts(
  object: Record<string, unknown>,
  signingName: string,
  keyId: string,
  options: CanonicalJsonOptions | undefined,
): { message: Uint8Array; signature: Uint8Array } | null {
  if (!isPlainObject(object)) return null;
  const { signatures, unsigned: _unsigned, ...signed } = object;
  if (!isPlainObject(signatures)) return null;
  const entry = Object.hasOwn(signatures, signingName) ? signatures[signingName] : undefined;
  if (!isPlainObject(entry) || !Object.hasOwn(entry, keyId)) return null;
  const encoded = entry[keyId];
  if (typeof encoded !== "string") return null;
  try {
    const signature = decodeBase64(encoded);
    if (signature.length !== 64) return null;
    return { message: canonicalJsonBytes(signed, options), signature };
  } catch {
    return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function importWebCryptoKey(raw: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", asBuffer(raw), ED25519_ALG, false, ["verify"]);
}

function importNodeKey(raw: Uint8Array): KeyObject {
  const spki = concat(SPKI_PREFIX, raw);
  return createPublicKey({ key: Buffer.from(spki.buffer), format: "der", type: "spki" });
}

/** A small least-recently-used cache of imported public keys, keyed by the raw key bytes. */
class KeyCache<K> {
  readonly #entries = new Map<string, K>();

  constructor(readonly limit: number) {}

  get(raw: Uint8Array, load: (raw: Uint8Array) => K): K {
    const id = encodeBase64Url(raw);
    let value = this.#entries.get(id);
    if (value !== undefined) {
      this.#entries.delete(id); // re-insert to mark as recently used
    } else {
      value = load(raw.slice());
      if (this.#entries.size >= this.limit) {
        this.#entries.delete(this.#entries.keys().next().value as string);
      }
    }
    this.#entries.set(id, value);
    return value;
  }

  delete(raw: Uint8Array): void {
    this.#entries.delete(encodeBase64Url(raw));
  }
}

/** Caches the import promise, so concurrent first verifications import once. */
class PromiseKeyCache {
  readonly #cache = new KeyCache<Promise<CryptoKey>>(KEY_CACHE_LIMIT);

  async get(raw: Uint8Array, load: (raw: Uint8Array) => Promise<CryptoKey>): Promise<CryptoKey> {
    const promise = this.#cache.get(raw, load);
    try {
      return await promise;
    } catch (error) {
      this.#cache.delete(raw); // do not remember failures
      throw error;
    }
  }
}

const webCryptoKeys = new PromiseKeyCache();
const nodeKeys = new KeyCache<KeyObject>(KEY_CACHE_LIMIT);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function asBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!, (pair) => parseInt(pair, 16));
}
