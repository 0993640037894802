import { assertEquals, assertThrows } from "../unit/assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";

Deno.test("config: [e2ee] default_for defaults to invite and rejects other values", () => {
  assertEquals(parseConfig("").e2ee.defaultFor, "invite");
  for (const value of ["all", "invite", "off"]) {
    assertEquals(parseConfig(`[e2ee]\ndefault_for = "${value}"`).e2ee.defaultFor, value);
  }
  const err = assertThrows(() => parseConfig(`[e2ee]\ndefault_for = "some"`), ConfigError);
  assertEquals((err as ConfigError).key, "e2ee.default_for");
  assertThrows(() => parseConfig(`[e2ee]\nother = 1`), ConfigError);
});
