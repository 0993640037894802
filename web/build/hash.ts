/**
 * Content hashes for the build's file names.
 *
 * @module
 */

/** Lower-case hex SHA-256. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The first 10 upper-case hex digits of the SHA-256: short enough for file names. */
export async function contentHash(bytes: Uint8Array): Promise<string> {
  return (await sha256Hex(bytes)).slice(0, 10).toUpperCase();
}
