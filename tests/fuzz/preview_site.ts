/**
 * A tiny local web site for `/preview_url` to fetch (the fuzz config allows 127.0.0.1): pages
 * whose og:image is whatever their `img` query says, and a PNG under `/img`.
 *
 * @module
 */

import { testPng } from "../support/test_images.ts";

/** Starts the site on a free loopback port; `shutdown()` it when done. */
export function startPreviewSite(): Deno.HttpServer<Deno.NetAddr> {
  const png = testPng(4, 4);
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/img")) {
      return new Response(png, { headers: { "content-type": "image/png" } });
    }
    const image = url.searchParams.get("img") ?? "/img.png";
    const title = url.searchParams.get("title") ?? "Fuzz page";
    const attr = (text: string) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
    const html = `<html><head><meta property="og:title" content="${attr(title)}">` +
      `<meta property="og:image" content="${attr(image)}"></head><body>x</body></html>`;
    return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
  });
}
