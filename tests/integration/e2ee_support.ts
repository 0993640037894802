/**
 * Helpers for the E2EE integration tests: a device with a real Ed25519 key that builds and signs
 * device keys, one-time keys and cross-signing keys the way a client does.
 *
 * @module
 */

import { encodeBase64 } from "../../crypto/base64.ts";
import { canonicalJsonBytes } from "../../crypto/canonical_json.ts";
import { SigningKey } from "../../crypto/signing.ts";
import type { TestServer, TestUser } from "../support/test_server.ts";

// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

/** Signs `object` as `signer` with `keyId`, keeping existing signatures. */
export async function sign(
  object: Json,
  signer: { userId: string; keyId: string; key: SigningKey },
): Promise<Json> {
  const { signatures, unsigned: _u, ...rest } = object;
  const sig = encodeBase64(await signer.key.sign(canonicalJsonBytes(rest)));
  const merged = { ...(signatures ?? {}) };
  merged[signer.userId] = { ...(merged[signer.userId] ?? {}), [signer.keyId]: sig };
  return { ...rest, signatures: merged };
}

/** A client device holding its own Ed25519 key. */
export class TestDevice {
  readonly user: TestUser;
  readonly key: SigningKey;
  #otkCounter = 0;

  private constructor(user: TestUser, key: SigningKey) {
    this.user = user;
    this.key = key;
  }

  static async create(user: TestUser): Promise<TestDevice> {
    return new TestDevice(user, await SigningKey.generate("x"));
  }

  get keyId(): string {
    return `ed25519:${this.user.deviceId}`;
  }

  /** Signed device keys. */
  async deviceKeys(extra: Json = {}): Promise<Json> {
    const { userId, deviceId } = this.user;
    return await this.sign({
      user_id: userId,
      device_id: deviceId,
      algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: {
        [`curve25519:${deviceId}`]: encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
        [`ed25519:${deviceId}`]: this.key.publicKeyBase64,
      },
      ...extra,
    });
  }

  /** Signs with the device key. */
  async sign(object: Json): Promise<Json> {
    return await sign(object, { userId: this.user.userId, keyId: this.keyId, key: this.key });
  }

  /** `n` signed one-time keys with fresh IDs. */
  async oneTimeKeys(n: number, options: { fallback?: boolean } = {}): Promise<Json> {
    const keys: Json = {};
    for (let i = 0; i < n; i++) {
      const id = `AAAA${String(++this.#otkCounter).padStart(4, "0")}`;
      const body: Json = { key: encodeBase64(crypto.getRandomValues(new Uint8Array(32))) };
      if (options.fallback) body.fallback = true;
      keys[`signed_curve25519:${id}`] = await this.sign(body);
    }
    return keys;
  }
}

/** A user's three cross-signing keys. */
export class CrossSigning {
  readonly userId: string;
  readonly master: SigningKey;
  readonly selfSigning: SigningKey;
  readonly userSigning: SigningKey;

  private constructor(userId: string, keys: SigningKey[]) {
    this.userId = userId;
    [this.master, this.selfSigning, this.userSigning] = keys;
  }

  static async create(userId: string): Promise<CrossSigning> {
    const keys = await Promise.all([1, 2, 3].map(() => SigningKey.generate("x")));
    return new CrossSigning(userId, keys);
  }

  static keyId(key: SigningKey): string {
    return `ed25519:${key.publicKeyBase64}`;
  }

  /** The unsigned key object of `usage`. */
  keyObject(usage: "master" | "self_signing" | "user_signing"): Json {
    const key = usage === "master"
      ? this.master
      : usage === "self_signing"
      ? this.selfSigning
      : this.userSigning;
    return {
      user_id: this.userId,
      usage: [usage],
      keys: { [CrossSigning.keyId(key)]: key.publicKeyBase64 },
    };
  }

  /** Signs with one of the three keys. */
  async signWith(key: SigningKey, object: Json): Promise<Json> {
    return await sign(object, { userId: this.userId, keyId: CrossSigning.keyId(key), key });
  }

  /** The body of `/keys/device_signing/upload`. */
  async uploadBody(): Promise<Json> {
    return {
      master_key: this.keyObject("master"),
      self_signing_key: await this.signWith(this.master, this.keyObject("self_signing")),
      user_signing_key: await this.signWith(this.master, this.keyObject("user_signing")),
    };
  }
}

/** POSTs `/keys/upload` for a device. */
export async function uploadKeys(t: TestServer, user: TestUser, body: Json) {
  return await t.request("POST", "/_matrix/client/v3/keys/upload", {
    token: user.accessToken,
    body,
  });
}

/** Password UIA auth for `user` in `session`. */
export function passwordAuth(user: TestUser, session: string): Json {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: user.userId },
    password: user.password,
    session,
  };
}

/** Collects every value of the KV store as text, for plaintext scans. */
export async function dumpKv(kv: Deno.Kv): Promise<string[]> {
  const out: string[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: false });
  for await (const entry of kv.list({ prefix: [] })) {
    const value = entry.value;
    if (value instanceof Uint8Array) out.push(decoder.decode(value));
    else if (typeof value === "bigint" || value instanceof Deno.KvU64) out.push(String(value));
    else out.push(JSON.stringify(value));
    out.push(JSON.stringify(entry.key, (_k, v) => typeof v === "bigint" ? String(v) : v));
  }
  return out;
}
