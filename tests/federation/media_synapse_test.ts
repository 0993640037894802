/**
 * Media between gemeng and the Synapse 1.67 peer, both ways. Synapse 1.67 has no authenticated
 * federation media: gemeng's fetch falls back to the legacy `/_matrix/media/v3/download` on
 * Synapse's federation address, and Synapse fetches gemeng's media with its legacy download
 * from gemeng's TLS listener.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { imageInfo } from "../../server/media/image_codecs.ts";
import { getMedium } from "../../server/media/media_store.ts";
import { testPng } from "../support/test_images.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { skipUnless, SYNAPSE_MISSING } from "./support/peers.ts";
import { startSynapse } from "./support/synapse.ts";

async function call(
  base: string,
  path: string,
  options: { token: string; body?: Uint8Array; type?: string },
) {
  const headers: Record<string, string> = { Authorization: `Bearer ${options.token}` };
  if (options.type) headers["Content-Type"] = options.type;
  const res = await fetch(`${base}${path}`, {
    method: options.body ? "POST" : "GET",
    headers,
    body: options.body as Uint8Array<ArrayBuffer> | undefined,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  let json = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch { /* media bytes */ }
  return { status: res.status, headers: res.headers, bytes, json };
}

function mediaIdOf(contentUri: string): string {
  return contentUri.slice("mxc://".length).split("/")[1];
}

Deno.test({
  name: "gemeng and Synapse 1.67: media uploaded on either side downloads on the other",
  ...skipUnless(SYNAPSE_MISSING),
  async fn(t) {
    const synapse = await startSynapse();
    const gemeng = await startGemengNode();
    try {
      const sam = await synapse.register("sam");
      const gina = await gemeng.register("gina");

      await t.step("uploaded on Synapse, fetched by gemeng (legacy fallback)", async () => {
        const png = testPng(200, 150);
        const up = await call(synapse.clientUrl, "/_matrix/media/r0/upload?filename=sam.png", {
          token: sam.accessToken,
          body: png,
          type: "image/png",
        });
        assertEquals(up.status, 200, JSON.stringify(up.json));
        const id = mediaIdOf(up.json.content_uri);
        const origin = encodeURIComponent(synapse.serverName);
        const got = await call(
          gemeng.baseUrl,
          `/_matrix/client/v1/media/download/${origin}/${id}`,
          { token: gina.accessToken },
        );
        assertEquals(got.status, 200, JSON.stringify(got.json) + await synapse.logTail(20));
        assertEquals(got.bytes, png);
        assertEquals(got.headers.get("content-type"), "image/png");
        assert(got.headers.get("content-disposition")?.includes("sam.png"));
        const cached = await getMedium(gemeng.hs.kv, synapse.serverName, id);
        assert(cached && cached.cachedTs !== null && cached.uploader === null);
        const thumb = await call(
          gemeng.baseUrl,
          `/_matrix/client/v1/media/thumbnail/${origin}/${id}?width=32&height=32&method=scale`,
          { token: gina.accessToken },
        );
        assertEquals(thumb.status, 200);
        const info = imageInfo(thumb.bytes);
        assert(info !== null && info.width <= 96, JSON.stringify(info));
        const missing = await call(
          gemeng.baseUrl,
          `/_matrix/client/v1/media/download/${origin}/NoSuchMediaOnSynapse`,
          { token: gina.accessToken },
        );
        assertEquals(missing.status, 404, JSON.stringify(missing.json));
      });

      await t.step("uploaded on gemeng, fetched by Synapse", async () => {
        const png = testPng(160, 120);
        const up = await call(gemeng.baseUrl, "/_matrix/media/v3/upload?filename=gina.png", {
          token: gina.accessToken,
          body: png,
          type: "image/png",
        });
        assertEquals(up.status, 200, JSON.stringify(up.json));
        const id = mediaIdOf(up.json.content_uri);
        const origin = encodeURIComponent(gemeng.serverName);
        const got = await call(synapse.clientUrl, `/_matrix/media/r0/download/${origin}/${id}`, {
          token: sam.accessToken,
        });
        assertEquals(got.status, 200, JSON.stringify(got.json) + await synapse.logTail(30));
        assertEquals(got.bytes, png);
        const thumb = await call(
          synapse.clientUrl,
          `/_matrix/media/r0/thumbnail/${origin}/${id}?width=32&height=32&method=scale`,
          { token: sam.accessToken },
        );
        assertEquals(thumb.status, 200, JSON.stringify(thumb.json));
      });
    } finally {
      await gemeng.close();
      await synapse.stop();
    }
  },
});
