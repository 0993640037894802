/**
 * What the app's own server decides for its users whatever a client asks, read from the
 * server's `/config.json`: today, which new rooms it encrypts (`[e2ee] default_for`). Only
 * known when the account lives on the server that serves the app; for another homeserver the
 * answer is "unknown" and the app behaves as against any server.
 *
 * @module
 */

/** Which new rooms the server encrypts: every room, private ones, none, or not known. */
export type EncryptionPolicy = "all" | "invite" | "off" | "unknown";

let cached: Promise<EncryptionPolicy> | null = null;

/** The encryption policy of `baseUrl`'s server, if it is the one serving this app. */
export function encryptionPolicy(
  baseUrl: string,
  fetchFn: typeof fetch = (input, init) => globalThis.fetch(input, init),
): Promise<EncryptionPolicy> {
  let sameOrigin = false;
  try {
    sameOrigin = new URL(baseUrl).origin === globalThis.location?.origin;
  } catch { /* not a URL */ }
  if (!sameOrigin) return Promise.resolve("unknown");
  cached ??= (async (): Promise<EncryptionPolicy> => {
    try {
      const res = await fetchFn("/config.json", { cache: "no-cache" });
      if (!res.ok) {
        await res.body?.cancel();
        return "unknown";
      }
      const body = await res.json();
      const value = body?.e2ee?.default_for;
      return value === "all" || value === "invite" || value === "off" ? value : "unknown";
    } catch {
      cached = null; // offline: ask again next time
      return "unknown";
    }
  })();
  return cached;
}
