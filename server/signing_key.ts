/**
 * The server's Ed25519 signing key, in Synapse's key file format (`ed25519 <version> <seed>`)
 * at `${data_dir}/signing.key`, created with mode 0600 on first start. Servers on an in-memory
 * KV (tests) generate a fresh key per instance instead.
 *
 * @module
 */

import { SigningKey } from "../crypto/signing.ts";
import type { Config } from "./config.ts";

/** Where the key file lives. */
export function signingKeyPath(config: Pick<Config, "dataDir">): string {
  return `${config.dataDir.replace(/\/+$/, "")}/signing.key`;
}

/**
 * Reads the key file, or creates it (mode 0600, never overwriting a file that appeared
 * meanwhile) when it does not exist.
 *
 * @throws {Error} naming the file when it exists but cannot be read or parsed
 */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKey> {
  try {
    return await SigningKey.fromSeedString(await Deno.readTextFile(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot use the signing key ${path}: ${(err as Error).message}`);
    }
  }
  const key = await SigningKey.generate();
  try {
    await Deno.writeTextFile(path, key.toSeedString() + "\n", { createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return await loadOrCreateSigningKey(path);
    throw err;
  }
  return key;
}
