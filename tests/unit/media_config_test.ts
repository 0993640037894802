import { assertEquals } from "./assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";

function keyOf(text: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.key;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("[media] defaults", () => {
  const { media, rateLimits } = parseConfig("");
  assertEquals(media.maxUploadSize, 104857600);
  assertEquals(media.legacyUnauthenticated, false);
  assertEquals(media.userQuotaBytes, 0);
  assertEquals(media.urlPreview.enabled, false);
  assertEquals(media.urlPreview.allowedRanges, []);
  assertEquals(rateLimits.mediaUpload, { perSecond: 2, burst: 50 });
});

Deno.test("[media] values are read", () => {
  const { media } = parseConfig(`
[media]
max_upload_size = 1000000
legacy_unauthenticated = true
user_quota_bytes = 5000000
[media.url_preview]
enabled = true
allowed_ranges = ["192.168.1.0/24", "fd00::/8"]
`);
  assertEquals(media.maxUploadSize, 1000000);
  assertEquals(media.legacyUnauthenticated, true);
  assertEquals(media.userQuotaBytes, 5000000);
  assertEquals(media.urlPreview.enabled, true);
  assertEquals(media.urlPreview.allowedRanges.map((r) => r.prefix), [24, 8]);
});

Deno.test("[media] unknown keys and bad values stop start-up naming the key", () => {
  assertEquals(keyOf("[media]\nmax_upload = 5"), "media.max_upload");
  assertEquals(keyOf("[media]\nmax_upload_size = -1"), "media.max_upload_size");
  assertEquals(keyOf('[media]\nlegacy_unauthenticated = "yes"'), "media.legacy_unauthenticated");
  assertEquals(
    keyOf('[media.url_preview]\nallowed_ranges = ["10.0.0.0/40"]'),
    "media.url_preview.allowed_ranges",
  );
  assertEquals(
    keyOf("[media.url_preview]\nallowed_ranges = [1]"),
    "media.url_preview.allowed_ranges",
  );
  assertEquals(keyOf("[media.url_preview]\nenable = true"), "media.url_preview.enable");
  assertEquals(keyOf("[rate_limits.media_upload]\nburst = 0"), "rate_limits.media_upload.burst");
});

Deno.test("[media.scanner] defaults, values and bad values", () => {
  assertEquals(parseConfig("").media.scanner, {
    enabled: false,
    clamd: "/run/clamav/clamd.ctl",
    failMode: "closed",
    timeoutMs: 30000,
    maxScanSize: 26214400,
  });
  const { scanner } = parseConfig(`
[media.scanner]
enabled = true
clamd = "127.0.0.1:3310"
fail_mode = "open"
`).media;
  assertEquals([scanner.enabled, scanner.clamd, scanner.failMode], [
    true,
    "127.0.0.1:3310",
    "open",
  ]);
  assertEquals(keyOf('[media.scanner]\nfail_mode = "maybe"'), "media.scanner.fail_mode");
  assertEquals(keyOf('[media.scanner]\nclamd = "clamd.sock"'), "media.scanner.clamd");
  assertEquals(keyOf("[media.scanner]\ntimeout_ms = 5"), "media.scanner.timeout_ms");
  assertEquals(keyOf("[media.scanner]\nport = 1"), "media.scanner.port");
});
