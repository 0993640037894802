/**
 * Helpers of the end-to-end scenario (scenario_test.ts): a stand-in map tile server, the emoji a
 * verification dialog shows, and a byte-level look through the server's whole KV store.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { encode as encodePng } from "fast-png";

/** A tile server on loopback: every `/tiles/z/x/y.png` is a plain 256-pixel PNG. */
export function startTileServer(): { url: string; close(): Promise<void> } {
  const png = encodePng({
    width: 256,
    height: 256,
    data: new Uint8Array(256 * 256 * 3).fill(210),
    channels: 3,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(new URL(req.url).pathname)) {
      return new Response(png as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "image/png", "access-control-allow-origin": "*" },
      });
    }
    return new Response("no such tile", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** The emoji (and their names) the verification dialog shows. */
export async function shownEmoji(page: Page): Promise<string[]> {
  const list = page.getByRole("dialog", { name: "Verification" })
    .getByRole("list", { name: "Emoji to compare" });
  await list.waitFor();
  const items = list.getByRole("listitem");
  const shown: string[] = [];
  for (let i = 0; i < await items.count(); i++) {
    const item = items.nth(i);
    shown.push(`${await item.getAttribute("data-sas-emoji")} ${await item.textContent()}`);
  }
  return shown;
}

/** Whether `needle` occurs in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/** Every key and value of the server's KV store, as bytes (blobs raw, the rest as JSON). */
export async function kvBytes(kv: Deno.Kv): Promise<Uint8Array[]> {
  const encoder = new TextEncoder();
  const out: Uint8Array[] = [];
  const json = (value: unknown) =>
    JSON.stringify(value, (_key, v) => {
      if (v instanceof Uint8Array) return new TextDecoder().decode(v);
      if (typeof v === "bigint") return v.toString();
      return v;
    }) ?? "";
  for await (const entry of kv.list({ prefix: [] })) {
    out.push(encoder.encode(json(entry.key)));
    out.push(entry.value instanceof Uint8Array ? entry.value : encoder.encode(json(entry.value)));
  }
  return out;
}
