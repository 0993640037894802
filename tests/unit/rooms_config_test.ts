import { assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";

Deno.test("[rooms] internal_by_default: false by default, read, checked", () => {
  assertEquals(parseConfig("").rooms.internalByDefault, false);
  assertEquals(parseConfig("[rooms]\ninternal_by_default = true").rooms.internalByDefault, true);
  assertThrows(() => parseConfig('[rooms]\ninternal_by_default = "yes"'), ConfigError);
  assertThrows(() => parseConfig("[rooms]\ninternal = true"), ConfigError);
});
