/**
 * Two gemeng nodes set up as an appliance would be: HTTPS on port 443 for everything (client
 * API, web app, federation; `[http] tls`), `server_name` a bare domain whose
 * `/.well-known/matrix/server` (served by the node itself) delegates to the host of
 * `public_base_url`. Each node has its own loopback address (127.0.0.2 and 127.0.0.3) and a
 * table stands in for DNS. Also the start-up self-check, on a node that works and on one whose
 * certificate does not name it.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { CA_MISSING, PEERS_DIR, skipUnless } from "./support/peers.ts";
import { createRoom, join, joined, sendText } from "./support/client.ts";
import { eventually, messageBodies } from "./support/rooms.ts";
import type { NodeResponse } from "./support/gemeng_node.ts";
import { type HttpsServer, startHttpsServer } from "../support/https_support.ts";
import { selfCheck } from "../../server/tls/self_check.ts";

const DNS: Record<string, string> = {
  "alpha.test": "127.0.0.2",
  "matrix.alpha.test": "127.0.0.2",
  "beta.test": "127.0.0.3",
  "matrix.beta.test": "127.0.0.3",
};

function resolveDns(name: string, type: "A" | "AAAA"): Promise<string[]> {
  const address = DNS[name.toLowerCase()];
  if (type === "A" && address) return Promise.resolve([address]);
  return Promise.reject(new Deno.errors.NotFound(`no ${type} record for ${name}`));
}

/** Why this cannot run: 443 on the two loopback addresses must be free to bind (root). */
function port443Unavailable(): string | null {
  for (const hostname of ["127.0.0.2", "127.0.0.3"]) {
    try {
      Deno.listen({ hostname, port: 443 }).close();
    } catch (err) {
      return `cannot listen on ${hostname}:443: ${String(err)}`;
    }
  }
  return null;
}

interface Node {
  server: HttpsServer;
  request(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string },
  ): Promise<NodeResponse>;
}

async function startNode(
  domain: string,
  files: { ca: string; cert: string; key: string },
  client: Deno.HttpClient,
): Promise<Node> {
  const address = DNS[domain];
  const server = await startHttpsServer({
    server_name: domain,
    http: {
      listen: `${address}:443`,
      public_base_url: `https://matrix.${domain}`,
      tls: "files",
      tls_cert: files.cert,
      tls_key: files.key,
    },
    federation: { trusted_ca: [files.ca], allow_private_addresses: true },
  }, { open: { resolveDns } });
  return {
    server,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token) headers.Authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers["Content-Type"] = "application/json";
      const res = await fetch(`https://${address}${path}`, {
        client,
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}

async function register(node: Node, localpart: string) {
  const body = { username: localpart, password: `pw-${localpart}-secret` };
  const first = await node.request("POST", "/_matrix/client/v3/register", { body });
  const done = await node.request("POST", "/_matrix/client/v3/register", {
    body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
  });
  assertEquals(done.status, 200, JSON.stringify(done.body));
  return { userId: done.body.user_id as string, accessToken: done.body.access_token as string };
}

Deno.test({
  name: "two nodes federate on one HTTPS port each, found through .well-known delegation",
  ...skipUnless(CA_MISSING ?? port443Unavailable()),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-one-port-" });
    const made = await new Deno.Command(`${PEERS_DIR}/make_ca.sh`, {
      args: [dir, "127.0.0.2", "127.0.0.3", ...Object.keys(DNS)],
      stdout: "null",
      stderr: "null",
    }).output();
    assert(made.success, "make_ca.sh failed");
    const files = { ca: `${dir}/ca.pem`, cert: `${dir}/server.pem`, key: `${dir}/server.key` };
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(files.ca)] });
    const a = await startNode("alpha.test", files, client);
    const b = await startNode("beta.test", files, client);
    try {
      // What the nodes themselves publish, on 443.
      const wellKnown = await a.request("GET", "/.well-known/matrix/server");
      assertEquals(wellKnown.body, { "m.server": "matrix.alpha.test:443" });
      const clientWellKnown = await a.request("GET", "/.well-known/matrix/client");
      assertEquals(clientWellKnown.body["m.homeserver"].base_url, "https://matrix.alpha.test");

      // How the other node finds it: the bare name, its .well-known, the delegated host.
      const resolved = await b.server.hs.federation.discovery.resolve("alpha.test");
      assertEquals(
        [resolved.hostHeader, resolved.tlsName, resolved.targets[0]],
        ["matrix.alpha.test:443", "matrix.alpha.test", { host: "matrix.alpha.test", port: 443 }],
      );

      const alice = await register(a, "alice");
      const bob = await register(b, "bob");
      const roomId = await createRoom(a, alice, { preset: "public_chat" });
      await join(b, bob, roomId, "alpha.test");
      await eventually(() => joined(a, alice, roomId, bob.userId), "bob's join at alpha");
      await sendText(b, bob, roomId, "hello from beta");
      await sendText(a, alice, roomId, "hello from alpha");
      await eventually(
        async () => (await messageBodies(a, alice, roomId)).includes("hello from beta"),
        "beta's message at alpha",
      );
      await eventually(
        async () => (await messageBodies(b, bob, roomId)).includes("hello from alpha"),
        "alpha's message at beta",
      );

      // The self-check sees what beta saw, and nothing that breaks federation.
      const report = await selfCheck(a.server.hs);
      assertEquals(report.warnings, [], report.lines.join("\n"));
      const lines = report.lines.join("\n");
      assert(lines.includes("others connect to matrix.alpha.test:443"), lines);
      assert(lines.includes("matrix.alpha.test resolves to 127.0.0.2"), lines);
      assert(
        lines.includes(`alpha.test publishes key ${a.server.hs.signingKey.keyId}`),
        lines,
      );
    } finally {
      await a.server.close();
      await b.server.close();
      client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the self-check warns when the certificate does not name the server",
  ...skipUnless(CA_MISSING ?? port443Unavailable()),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-self-check-" });
    // A certificate for beta only, on alpha's node.
    const made = await new Deno.Command(`${PEERS_DIR}/make_ca.sh`, {
      args: [dir, "127.0.0.2", "beta.test"],
      stdout: "null",
      stderr: "null",
    }).output();
    assert(made.success, "make_ca.sh failed");
    const files = { ca: `${dir}/ca.pem`, cert: `${dir}/server.pem`, key: `${dir}/server.key` };
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(files.ca)] });
    const a = await startNode("alpha.test", files, client);
    try {
      const report = await selfCheck(a.server.hs, { timeoutMs: 5000 });
      const text = report.warnings.join("\n");
      assert(text.includes("does not name matrix.alpha.test"), report.lines.join("\n"));
      assert(text.includes("cannot fetch https://"), report.lines.join("\n"));
    } finally {
      await a.server.close();
      client.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
