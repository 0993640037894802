import { assert, assertEquals } from "./assert.ts";
import {
  cleanContentType,
  contentDisposition,
  isInlineType,
  parseRange,
} from "../../server/media/download_response.ts";
import { isAddressAllowed, parseCidr, parseIp } from "../../server/media/ip_ranges.ts";
import { planThumbnail } from "../../server/media/thumbnailer.ts";
import { parseOpenGraph } from "../../server/media/url_preview.ts";
import { imageInfo } from "../../server/media/image_codecs.ts";

Deno.test("parseRange: single ranges, suffixes, unsatisfiable and ignored forms", () => {
  assertEquals(parseRange(null, 100), null);
  assertEquals(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assertEquals(parseRange("bytes=90-", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=-5", 100), { start: 95, end: 99 });
  assertEquals(parseRange("bytes=-500", 100), { start: 0, end: 99 });
  assertEquals(parseRange("bytes=50-5000", 100), { start: 50, end: 99 });
  assertEquals(parseRange("bytes=100-", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=-0", 100), "unsatisfiable");
  assertEquals(parseRange("bytes=0-", 0), "unsatisfiable");
  assertEquals(parseRange("bytes=9-3", 100), null);
  assertEquals(parseRange("bytes=0-1,4-5", 100), null);
  assertEquals(parseRange("items=0-1", 100), null);
});

Deno.test("Content-Disposition and content types", () => {
  assertEquals(contentDisposition("inline", null), "inline");
  assertEquals(contentDisposition("attachment", "a b.pdf"), 'attachment; filename="a b.pdf"');
  assertEquals(
    contentDisposition("attachment", 'say "hi".txt'),
    `attachment; filename="say _hi_.txt"; filename*=utf-8''say%20%22hi%22.txt`,
  );
  assertEquals(
    contentDisposition("inline", "Gemeng\r\nSet-Cookie: x"),
    'inline; filename="GemengSet-Cookie: x"',
  );
  assertEquals(
    contentDisposition("inline", "ëmmer.png"),
    `inline; filename="_mmer.png"; filename*=utf-8''%C3%ABmmer.png`,
  );
  assertEquals(cleanContentType(null), "application/octet-stream");
  assertEquals(cleanContentType("text/plain; charset=utf-8"), "text/plain; charset=utf-8");
  assertEquals(cleanContentType("text/html\r\nX-Evil: 1"), "application/octet-stream");
  assertEquals(cleanContentType("nonsense"), "application/octet-stream");
  assert(isInlineType("IMAGE/PNG"));
  assert(isInlineType("text/plain; charset=utf-8"));
  assert(!isInlineType("text/html"));
  assert(!isInlineType("image/svg+xml"));
  assert(!isInlineType("application/pdf"));
});

Deno.test("IP ranges: special-purpose addresses are refused unless allowed", () => {
  const refused = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::",
  ];
  for (const text of refused) {
    const address = parseIp(text);
    assert(address !== null, text);
    assert(!isAddressAllowed(address!, []), text);
  }
  for (const text of ["93.184.216.34", "2a00:1450:4001:80b::200e", "::ffff:93.184.216.34"]) {
    assert(isAddressAllowed(parseIp(text)!, []), text);
  }
  const allowed = [parseCidr("192.168.1.0/24")!, parseCidr("fd00::/8")!];
  assert(isAddressAllowed(parseIp("192.168.1.77")!, allowed));
  assert(!isAddressAllowed(parseIp("192.168.2.1")!, allowed));
  assert(isAddressAllowed(parseIp("fd12::1")!, allowed));
  assertEquals(parseCidr("10.0.0.0/33"), null);
  assertEquals(parseCidr("300.0.0.1"), null);
  assertEquals(parseIp("1:2:3:4:5:6:7:8:9"), null);
  assertEquals(parseIp("[::1]")?.version, 6);
});

Deno.test("thumbnail plans: scale fits inside, crop fills, never upscales", () => {
  assertEquals(planThumbnail(400, 300, { width: 320, height: 240, method: "scale" })?.width, 320);
  const tall = planThumbnail(300, 1200, { width: 320, height: 240, method: "scale" })!;
  assertEquals([tall.width, tall.height], [60, 240]);
  const crop = planThumbnail(1000, 500, { width: 96, height: 96, method: "crop" })!;
  assertEquals([crop.sx, crop.sy, crop.sw, crop.sh, crop.width, crop.height], [
    250,
    0,
    500,
    500,
    96,
    96,
  ]);
  const narrow = planThumbnail(100, 50, { width: 96, height: 96, method: "crop" })!;
  assertEquals([narrow.width, narrow.height], [50, 50]);
  assertEquals(planThumbnail(64, 64, { width: 96, height: 96, method: "crop" }), null);
  assertEquals(planThumbnail(64, 48, { width: 320, height: 240, method: "scale" }), null);
});

Deno.test("image headers: dimensions without decoding; other bytes are not images", () => {
  const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x40, 0x01, 0xf0, 0x00]);
  assertEquals(imageInfo(gif), {
    format: "gif",
    width: 320,
    height: 240,
  });
  assertEquals(imageInfo(new TextEncoder().encode("%PDF-1.7")), null);
  assertEquals(imageInfo(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), null);
});

Deno.test("OpenGraph parsing: properties, entities, fallbacks", () => {
  const og = parseOpenGraph(`<head><title>T &lt;1&gt;</title>
    <meta content="Desc" property="og:description"/>
    <META NAME="description" CONTENT="fallback">
    <meta property='og:url' content='https://x.example/?a=1&amp;b=2'>`);
  assertEquals(og, {
    "og:description": "Desc",
    "og:url": "https://x.example/?a=1&b=2",
    "og:title": "T <1>",
  });
  assertEquals(parseOpenGraph("<meta name=description content=Plain>"), {
    "og:description": "Plain",
  });
});
