/**
 * Debian's `pebble` (Let's Encrypt's ACME test server) for the ACME tests: one instance per
 * call on free loopback ports, its HTTP-01 validations sent to the port the test names, its
 * directory served with a certificate of the test CA (tests/federation/support/peers.ts).
 *
 * @module
 */

import { freePort, testCa } from "../federation/support/peers.ts";

/** Why the ACME tests cannot run here, or null when pebble is installed. */
export const PEBBLE_MISSING: string | null = (() => {
  try {
    Deno.statSync("/usr/bin/pebble");
    return null;
  } catch {
    return "pebble is not installed (apt-get install -y pebble; .ci/run does)";
  }
})();

let warned = false;

/** `Deno.test` options that skip an ACME test, saying why once, when pebble is missing. */
export function skipWithoutPebble(): { ignore: boolean } {
  if (PEBBLE_MISSING !== null && !warned) {
    warned = true;
    console.warn(`skipping the ACME tests: ${PEBBLE_MISSING}`);
  }
  return { ignore: PEBBLE_MISSING !== null };
}

/** A running pebble. */
export interface Pebble {
  /** The ACME directory URL. */
  directoryUrl: string;
  /** The CA file that signs the directory's certificate (`acme_ca`). */
  caFile: string;
  /** The root that signs the certificates pebble issues (fetched from its management API). */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

/** Options of {@link startPebble}. */
export interface PebbleOptions {
  /** Where pebble's validator sends HTTP-01 requests (the server's `http_listen` port). */
  httpPort: number;
  /** Lifetime of the certificates it issues, in seconds. */
  validitySeconds: number;
}

/** Starts pebble and waits until its directory answers. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const ca = await testCa();
  const dir = await Deno.makeTempDir({ prefix: "gemeng-pebble-" });
  const acmePort = freePort();
  const managementPort = freePort();
  await Deno.writeTextFile(
    `${dir}/pebble.json`,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: ca.certFile,
        privateKey: ca.keyFile,
        httpPort: options.httpPort,
        tlsPort: freePort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds,
      },
    }),
  );
  const child = new Deno.Command("/usr/bin/pebble", {
    args: ["-config", `${dir}/pebble.json`],
    // No random validation sleeps, no rejected nonces: the test's timing is its own.
    env: { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone already */ }
    await child.status;
    client.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  for (let attempt = 0;; attempt++) {
    try {
      const res = await fetch(directoryUrl, { client });
      await res.body?.cancel();
      if (res.ok) break;
    } catch (err) {
      if (attempt > 100) {
        await stop();
        throw new Error(`pebble did not start: ${String(err)}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    directoryUrl,
    caFile: ca.caFile,
    async rootPem() {
      const res = await fetch(`https://127.0.0.1:${managementPort}/roots/0`, { client });
      return await res.text();
    },
    stop,
  };
}
