/**
 * Password hashing with scrypt (`node:crypto`, which runs it on the thread pool, off the event
 * loop), at most one hash per core at a time. The cost parameters travel inside the stored string, so the default can be raised
 * later and old hashes upgraded on the next successful login (see {@link needsRehash}):
 *
 * `$scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<b64 salt>$<b64 hash>`
 *
 * (Base64 is unpadded, standard alphabet.)
 *
 * @module
 */

import { scrypt, timingSafeEqual } from "node:crypto";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { randomBytes } from "./tokens.ts";

/** scrypt cost parameters: N = 2^ln, block size r, parallelism p. */
export interface ScryptCost {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/**
 * Default cost: N = 2^15, r = 8, p = 3 (32 MiB, about a quarter second on one core). This is
 * one of OWASP's equivalent minimum scrypt settings (alongside N = 2^17, r = 8, p = 1) while
 * keeping memory per concurrent login at 32 MiB.
 */
export const DEFAULT_SCRYPT_COST: Readonly<ScryptCost> = Object.freeze({ ln: 15, r: 8, p: 3 });

/** Longest password accepted, in UTF-8 bytes; a bound on the work a request can cause. */
export const MAX_PASSWORD_BYTES = 1024;

/** Bounds on parameters read back from storage, so a corrupt hash cannot exhaust memory. */
const LIMITS = { ln: [1, 22], r: [1, 32], p: [1, 16] } as const;
/** scrypt needs about 128 * N * r bytes; refuse parameters that would need more than this. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const FORMAT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const encoder = new TextEncoder();

/** Raised for passwords that cannot be hashed (too long) or invalid cost parameters. */
export class PasswordError extends Error {
  /** Matrix error code a request handler can send back as-is. */
  readonly code = "M_INVALID_PARAM";

  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "PasswordError";
  }
}

/** Options for {@link hashPassword} and {@link needsRehash}. */
export interface PasswordOptions {
  /** Cost to hash with (or, for needsRehash, to compare against); default {@link DEFAULT_SCRYPT_COST}. */
  cost?: ScryptCost;
}

/**
 * Hashes a password with a fresh 16-byte salt into the self-describing format above.
 *
 * @throws {PasswordError} if the password is longer than {@link MAX_PASSWORD_BYTES} UTF-8 bytes
 *   or the cost is out of bounds
 */
export async function hashPassword(password: string, options?: PasswordOptions): Promise<string> {
  const cost = options?.cost ?? DEFAULT_SCRYPT_COST;
  if (!costInBounds(cost)) {
    throw new PasswordError(`scrypt cost out of bounds: ${JSON.stringify(cost)}`);
  }
  const bytes = encoder.encode(password);
  if (bytes.length > MAX_PASSWORD_BYTES) {
    throw new PasswordError(`Password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(bytes, salt, cost, HASH_BYTES);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${encodeBase64(salt)}$${
    encodeBase64(hash)
  }`;
}

/**
 * Checks a password against a stored hash in constant time.
 *
 * @returns false for a wrong password, an over-long password, or a stored value that is not a
 *   well-formed hash of this module's format. Never throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (parsed === null) return false;
  const bytes = encoder.encode(password);
  if (bytes.length > MAX_PASSWORD_BYTES) return false;
  try {
    const hash = await derive(bytes, parsed.salt, parsed.cost, parsed.hash.length);
    return timingSafeEqual(hash, parsed.hash);
  } catch {
    return false;
  }
}

/**
 * Tells whether a stored hash should be replaced after the next successful login: true when any
 * of its cost parameters is below the current one (default {@link DEFAULT_SCRYPT_COST}), or when
 * it is not a well-formed hash at all.
 */
export function needsRehash(stored: string, options?: PasswordOptions): boolean {
  const parsed = parseStored(stored);
  if (parsed === null) return true;
  const wanted = options?.cost ?? DEFAULT_SCRYPT_COST;
  const { ln, r, p } = parsed.cost;
  return ln < wanted.ln || r < wanted.r || p < wanted.p || parsed.hash.length < HASH_BYTES;
}

/** Reads the cost parameters out of a stored hash; null if it is malformed. */
export function parsePasswordHashCost(stored: string): ScryptCost | null {
  return parseStored(stored)?.cost ?? null;
}

function parseStored(
  stored: unknown,
): { cost: ScryptCost; salt: Uint8Array; hash: Uint8Array } | null {
  if (typeof stored !== "string") return null;
  const match = FORMAT.exec(stored);
  if (match === null) return null;
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (!costInBounds(cost)) return null;
  try {
    const salt = decodeBase64(match[4]);
    const hash = decodeBase64(match[5]);
    if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
    return { cost, salt, hash };
  } catch {
    return null;
  }
}

function costInBounds(cost: ScryptCost): boolean {
  const each = (Object.keys(LIMITS) as (keyof ScryptCost)[]).every((name) => {
    const value = cost?.[name];
    const [low, high] = LIMITS[name];
    return Number.isInteger(value) && value >= low && value <= high;
  });
  return each && 128 * 2 ** cost.ln * cost.r <= MAX_SCRYPT_MEMORY;
}

/**
 * Bounds concurrent scrypt hashes. Each needs 128 * N * r bytes (32 MiB at the default cost)
 * and a whole core, so more hashes at once than cores only add memory: without this, a burst of
 * logins would hold 32 MiB per request. Process-wide on purpose, since memory and cores are.
 */
class HashSlots {
  readonly #limit: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Hashes running now (for tests). */
  get active(): number {
    return this.#active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so the count never dips and overshoots.
      const next = this.#queue.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

/** How many password hashes may run at once (the number of cores). */
export const MAX_CONCURRENT_HASHES: number = Math.max(1, navigator.hardwareConcurrency || 1);

const hashSlots = new HashSlots(MAX_CONCURRENT_HASHES);

/** Password hashes running right now (at most {@link MAX_CONCURRENT_HASHES}). */
export function activePasswordHashes(): number {
  return hashSlots.active;
}

function derive(
  password: Uint8Array,
  salt: Uint8Array,
  cost: ScryptCost,
  length: number,
): Promise<Uint8Array> {
  return hashSlots.run(() => scryptAsync(password, salt, cost, length));
}

function scryptAsync(
  password: Uint8Array,
  salt: Uint8Array,
  cost: ScryptCost,
  length: number,
): Promise<Uint8Array> {
  const N = 2 ** cost.ln;
  // scrypt needs about 128 * N * r bytes; allow twice that so Node's estimate never refuses.
  const maxmem = 256 * N * cost.r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { N, r: cost.r, p: cost.p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}
