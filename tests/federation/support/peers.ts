/**
 * Where the federation test peers live (`../shared/peers` beside the checkout: Synapse 1.67.0
 * and its scripts), whether they are there, the test CA (made once per process with
 * `make_ca.sh`) and free loopback ports.
 *
 * @module
 */

/** `../shared/peers` relative to the repository root. */
export const PEERS_DIR: string = new URL("../../../../shared/peers", import.meta.url).pathname
  .replace(/\/$/, "");

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Why tests that need the Synapse peer cannot run here, or null when they can. */
export const SYNAPSE_MISSING: string | null = exists(`${PEERS_DIR}/start.sh`) &&
    exists(`${PEERS_DIR}/synapse-1.67.0/matrix_synapse-1.67.0.dist-info`)
  ? null
  : `no prepared Synapse peer in ${PEERS_DIR} (run ${PEERS_DIR}/setup.sh ` +
    `${PEERS_DIR}/synapse-1.67.0; .ci/run does)`;

/** Why tests that need the test CA cannot run here (no `make_ca.sh` or no openssl), or null. */
export const CA_MISSING: string | null = !exists(`${PEERS_DIR}/make_ca.sh`)
  ? `no ${PEERS_DIR}/make_ca.sh`
  : !["/usr/bin/openssl", "/bin/openssl", "/usr/local/bin/openssl"].some(exists)
  ? "openssl is not installed"
  : null;

/**
 * Options for `Deno.test` that skip a test, saying why once, when `reason` is not null.
 *
 * @param reason why the test cannot run, or null
 */
export function skipUnless(reason: string | null): { ignore: boolean } {
  if (reason !== null && !warned.has(reason)) {
    warned.add(reason);
    console.warn(`skipping federation tests: ${reason}`);
  }
  return { ignore: reason !== null };
}
const warned = new Set<string>();

/** The test CA and a certificate for 127.0.0.1 and localhost signed by it. */
export interface TestCa {
  dir: string;
  /** The CA certificate file (trust it). */
  caFile: string;
  /** Leaf + CA chain for servers, and its key file. */
  certFile: string;
  keyFile: string;
}

let caPromise: Promise<TestCa> | null = null;

/** The test CA of this process (made on first use in a temporary directory). */
export function testCa(): Promise<TestCa> {
  caPromise ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-fed-ca-" });
    // One CA per test process: removed when the process ends.
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* already gone */ }
    });
    const out = await new Deno.Command(`${PEERS_DIR}/make_ca.sh`, {
      args: [dir, "127.0.0.1", "localhost"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`make_ca.sh failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return {
      dir,
      caFile: `${dir}/ca.pem`,
      certFile: `${dir}/server.pem`,
      keyFile: `${dir}/server.key`,
    };
  })();
  return caPromise;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. It is drawn below Linux's ephemeral range
 * (32768-60999): a port the kernel hands out for port 0 is also handed out for the many outgoing
 * loopback connections of a test run, which can take it before the caller binds it.
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
