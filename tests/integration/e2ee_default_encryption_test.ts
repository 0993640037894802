import { assertEquals, assertThrows } from "../unit/assert.ts";
import { ConfigError, parseConfig } from "../../server/config.ts";
import { defaultEncryptionEvent } from "../../server/e2ee/default_encryption.ts";

Deno.test("config: [e2ee] default_for defaults to invite and rejects other values", () => {
  assertEquals(parseConfig("").e2ee.defaultFor, "invite");
  for (const value of ["all", "invite", "off"]) {
    assertEquals(parseConfig(`[e2ee]\ndefault_for = "${value}"`).e2ee.defaultFor, value);
  }
  const err = assertThrows(() => parseConfig(`[e2ee]\ndefault_for = "some"`), ConfigError);
  assertEquals((err as ConfigError).key, "e2ee.default_for");
  assertThrows(() => parseConfig(`[e2ee]\nother = 1`), ConfigError);
});

Deno.test("default encryption: which new rooms get m.room.encryption", () => {
  const policy = (defaultFor: "all" | "invite" | "off") => ({ e2ee: { defaultFor } });
  const encrypted = (
    config: ReturnType<typeof policy>,
    room: Parameters<typeof defaultEncryptionEvent>[1],
  ) => defaultEncryptionEvent(config, room) !== null;
  const invite = policy("invite");
  assertEquals(defaultEncryptionEvent(invite, { preset: "private_chat" }), {
    type: "m.room.encryption",
    state_key: "",
    content: { algorithm: "m.megolm.v1.aes-sha2" },
  });
  assertEquals(encrypted(invite, { preset: "trusted_private_chat" }), true);
  assertEquals(encrypted(invite, {}), true); // private by default
  assertEquals(encrypted(invite, { visibility: "public" }), false);
  assertEquals(encrypted(invite, { preset: "public_chat" }), false);
  assertEquals(encrypted(invite, { preset: "public_chat", isDirect: true }), true);
  assertEquals(encrypted(policy("all"), { preset: "public_chat" }), true);
  assertEquals(encrypted(policy("off"), { preset: "private_chat", isDirect: true }), false);
});
