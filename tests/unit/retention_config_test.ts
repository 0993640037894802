import { assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";
import {
  effectiveMaxLifetime,
  policyOf,
  validateRetentionContent,
} from "../../server/retention/retention_policy.ts";

function keyOf(text: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.key;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("[retention] defaults: off, no lifetimes, daily job", () => {
  const { retention } = parseConfig("");
  assertEquals(retention, {
    enabled: false,
    defaultMinLifetimeMs: null,
    defaultMaxLifetimeMs: null,
    allowedLifetimeMinMs: null,
    allowedLifetimeMaxMs: null,
    purgeIntervalMs: 86_400_000,
  });
});

Deno.test("[retention] bad values name their key", () => {
  assertEquals(keyOf("[retention]\nenabled = 1"), "retention.enabled");
  assertEquals(keyOf("[retention]\ndefault_max_lifetime = -1"), "retention.default_max_lifetime");
  assertEquals(keyOf("[retention]\npurge_interval = 10"), "retention.purge_interval");
  assertEquals(keyOf("[retention]\nmax_lifetime = 10"), "retention.max_lifetime");
  assertEquals(
    keyOf("[retention]\nallowed_lifetime_min = 10\nallowed_lifetime_max = 5"),
    "retention.allowed_lifetime_min",
  );
});

Deno.test("retention: the effective max_lifetime is bounded as Synapse's purge jobs bound it", () => {
  const config = parseConfig(
    "[retention]\nenabled = true\ndefault_max_lifetime = 5000\n" +
      "allowed_lifetime_min = 1000\nallowed_lifetime_max = 9000",
  ).retention;
  assertEquals(effectiveMaxLifetime(config, null), 5000);
  assertEquals(effectiveMaxLifetime(config, policyOf({ max_lifetime: 10 })), 1000);
  assertEquals(effectiveMaxLifetime(config, policyOf({ max_lifetime: 99_999 })), 9000);
  assertEquals(effectiveMaxLifetime(config, policyOf({ max_lifetime: 7000 })), 7000);
  // Invalid fields (another server's event) count as absent.
  assertEquals(effectiveMaxLifetime(config, policyOf({ max_lifetime: "1d" })), 5000);
  const open = parseConfig("[retention]\nenabled = true\nallowed_lifetime_max = 9000").retention;
  assertEquals(effectiveMaxLifetime(open, null), null);
  assertEquals(effectiveMaxLifetime(open, policyOf({ max_lifetime: 99_999 })), 9000);
});

Deno.test("retention: m.room.retention content is validated", () => {
  validateRetentionContent({});
  validateRetentionContent({ min_lifetime: 0, max_lifetime: 86_400_000 });
  for (
    const bad of [{ max_lifetime: -1 }, { max_lifetime: 1.5 }, { min_lifetime: "1" }, {
      min_lifetime: 10,
      max_lifetime: 5,
    }]
  ) {
    assertThrows(() => validateRetentionContent(bad));
  }
});
