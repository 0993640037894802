/**
 * Signing key rotation. Other servers keep needing a retired key to check the events it
 * signed, so a rotation keeps its public half: `${data_dir}/old_signing_keys` lists retired
 * keys, one per line, `ed25519 <version> <unpadded Base64 public key> <expired_ts>`, and the
 * key ring publishes them as `old_verify_keys`. {@link rotateSigningKey} retires the current
 * `signing.key` and writes a new one; the server uses the new key from its next start.
 *
 * @module
 */

import { decodePublicKey, SigningKey } from "../../crypto/signing.ts";
import type { OldVerifyKey } from "../../federation/server_keys.ts";
import type { Config } from "../config.ts";
import { signingKeyPath } from "../signing_key.ts";

/** Why the retired keys cannot be read or a rotation cannot be done. */
export class KeyRotationError extends Error {
  /** Always `KEY_ROTATION`. */
  readonly code = "KEY_ROTATION";
  /** @param message what is wrong, naming the file */
  constructor(message: string) {
    super(message);
    this.name = "KeyRotationError";
  }
}

/** Where the retired keys are listed. */
export function oldSigningKeysPath(config: Pick<Config, "dataDir">): string {
  return `${config.dataDir.replace(/\/+$/, "")}/old_signing_keys`;
}

const LINE = /^ed25519 ([A-Za-z0-9_]+) (\S+) (\d{1,16})$/;

/** Parses the retired keys file's text (blank lines and `#` comments are skipped). */
export function parseOldSigningKeys(text: string): Record<string, OldVerifyKey> {
  const keys: Record<string, OldVerifyKey> = {};
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = LINE.exec(line);
    if (!match || !decodePublicKey(match[2])) {
      throw new KeyRotationError(
        `line ${index + 1}: expected "ed25519 <version> <base64 public key> <expired_ts>"`,
      );
    }
    keys[`ed25519:${match[1]}`] = { key: match[2], expiredTs: Number(match[3]) };
  });
  return keys;
}

/** The retired keys of this server (none when the file does not exist). */
export async function loadOldSigningKeys(
  config: Pick<Config, "dataDir">,
): Promise<Record<string, OldVerifyKey>> {
  const path = oldSigningKeysPath(config);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return {};
    throw new KeyRotationError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseOldSigningKeys(text);
  } catch (err) {
    throw new KeyRotationError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * Retires the current signing key (its public half goes to `old_signing_keys`, expired now)
 * and writes a new `signing.key`. Run it while the server is stopped.
 *
 * @returns the retired and the new key IDs
 * @throws {KeyRotationError} when there is no key to retire or a file cannot be written
 */
export async function rotateSigningKey(
  config: Pick<Config, "dataDir">,
  options: { now?: number; version?: string } = {},
): Promise<{ retired: string; current: string }> {
  const path = signingKeyPath(config);
  let old: SigningKey;
  try {
    old = await SigningKey.fromSeedString(await Deno.readTextFile(path));
  } catch (err) {
    throw new KeyRotationError(`cannot read the signing key ${path}: ${(err as Error).message}`);
  }
  const retired = await loadOldSigningKeys(config);
  const fresh = await SigningKey.generate(options.version);
  if (fresh.keyId === old.keyId || retired[fresh.keyId]) {
    throw new KeyRotationError(`key ID ${fresh.keyId} was used before; choose another version`);
  }
  const now = options.now ?? Date.now();
  await Deno.writeTextFile(
    oldSigningKeysPath(config),
    `ed25519 ${old.version} ${old.publicKeyBase64} ${now}\n`,
    { append: true, mode: 0o644 },
  );
  // The new key replaces the old one in one rename, so a crash leaves one or the other.
  const temporary = `${path}.new`;
  await Deno.writeTextFile(temporary, fresh.toSeedString() + "\n", { mode: 0o600 });
  await Deno.rename(temporary, path);
  return { retired: old.keyId, current: fresh.keyId };
}
