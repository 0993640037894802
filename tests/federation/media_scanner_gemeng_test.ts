/**
 * Remote media are scanned before they are cached and served: B scans with Debian's clamd
 * (started here with an EICAR signature made by sigtool), A does not. EICAR uploaded on A is
 * refused to B's client (403 with the content scanner's reason) and is neither cached on B nor
 * served on a second try; a clean file of A downloads through B.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { getMedium } from "../../server/media/media_store.ts";
import { CLAMD_MISSING, EICAR, startClamd } from "../support/clamd.ts";
import { type GemengNode, type NodeUser, startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, skipUnless } from "./support/peers.ts";

async function upload(node: GemengNode, user: NodeUser, bytes: Uint8Array<ArrayBuffer>) {
  const res = await fetch(`${node.baseUrl}/_matrix/media/v3/upload?filename=file.bin`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.accessToken}` },
    body: bytes,
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return (body.content_uri as string).slice("mxc://".length).split("/")[1];
}

async function download(node: GemengNode, user: NodeUser, origin: string, id: string) {
  const res = await fetch(
    `${node.baseUrl}/_matrix/client/v1/media/download/${encodeURIComponent(origin)}/${id}`,
    { headers: { Authorization: `Bearer ${user.accessToken}` } },
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch { /* media bytes */ }
  return { status: res.status, bytes, json };
}

Deno.test({
  name: "media scanner: another server's infected file is refused before it is cached",
  ...skipUnless(CA_MISSING ?? CLAMD_MISSING),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-clamd-fed-" });
    const clamd = await startClamd(dir);
    const a = await startGemengNode();
    const b = await startGemengNode({
      config: { media: { scanner: { enabled: true, clamd: clamd.socket, timeout_ms: 5000 } } },
    });
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const infected = await upload(a, alice, EICAR);
      const clean = new TextEncoder().encode("the budget of 2027, final version");
      const cleanId = await upload(a, alice, clean);

      const refused = await download(b, bob, a.serverName, infected);
      assertEquals(refused.status, 403, JSON.stringify(refused.json));
      assertEquals(refused.json.errcode, "M_FORBIDDEN");
      assertEquals(refused.json.reason, "MCS_MEDIA_NOT_CLEAN");
      assertEquals(await getMedium(b.hs.kv, a.serverName, infected), null);
      const again = await download(b, bob, a.serverName, infected);
      assertEquals(again.status, 403);

      const served = await download(b, bob, a.serverName, cleanId);
      assertEquals(served.status, 200);
      assertEquals(served.bytes, clean);
      assert((await getMedium(b.hs.kv, a.serverName, cleanId))?.state === "ready");
    } finally {
      await b.close();
      await a.close();
      await clamd.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
