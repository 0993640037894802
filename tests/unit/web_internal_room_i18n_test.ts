/**
 * The "Internal room" switch's messages, which load with the room settings chunk: every language
 * translates every message with the same placeholders, German as "Sie", and the lookup.
 */

import { assertEquals } from "./assert.ts";
import { internalMessages, internalText } from "../../web/src/i18n/internal_room.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("internal room i18n: every language translates every message alike", () => {
  const { en, ...others } = internalMessages;
  for (const [locale, table] of Object.entries(others)) {
    const same = Object.entries(en).filter(([key, text]) =>
      (table as Record<string, string>)[key] === text && /\p{L}{3}/u.test(text)
    );
    assertEquals(same, [], `${locale}: still in English`);
    for (const [key, text] of Object.entries(en)) {
      const translated = (table as Record<string, string>)[key];
      assertEquals(placeholders(translated), placeholders(text), `${locale} ${key}`);
    }
  }
  const informal =
    /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|hast|bist|kannst|musst|darfst)\b/i;
  assertEquals(Object.values(internalMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("internal room i18n: lookup with the server name", () => {
  assertEquals(
    internalText("en", "internal.switch", "gemeng.lu"),
    "Internal room: only people from gemeng.lu",
  );
  assertEquals(internalText("lb", "internal.switch", "x.lu"), "Internen Raum: just Leit vun x.lu");
  assertEquals(internalText("de", "internal.foreign").startsWith("Auf einem anderen Server"), true);
});
