/**
 * The spaces chunk's messages, which load with it instead of being merged into the catalogues:
 * the catalogues' checks (every language translated, the same placeholders, German as "Sie"),
 * the lookup with a placeholder, and member counts with their plural and number format.
 */

import { assertEquals } from "./assert.ts";
import { membersText, spacesMessages, spacesText } from "../../web/src/i18n/spaces.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
/** Words the languages share with English (a room's "Name" is "Name" in German too). */
const SHARED = new Set(["Name", "Public rooms"]);

Deno.test("spaces i18n: every language translates every message alike", () => {
  const { en, ...others } = spacesMessages;
  for (const [locale, table] of Object.entries(others)) {
    const values = table as Record<string, string>;
    assertEquals(Object.keys(values).sort(), Object.keys(en).sort(), `${locale}: keys`);
    const same = Object.entries(en).filter(([key, text]) =>
      values[key] === text && /\p{L}{3}/u.test(text) && !SHARED.has(text)
    );
    assertEquals(same, [], `${locale}: still in English`);
    for (const [key, text] of Object.entries(en)) {
      assertEquals(placeholders(values[key]), placeholders(text), `${locale} ${key}`);
    }
  }
  const informal =
    /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|hast|bist|kannst|musst|darfst)\b/i;
  assertEquals(Object.values(spacesMessages.de).filter((text) => informal.test(text)), []);
  // French puts names where no elision is needed ("de Anna" would be wrong).
  const elidable = /\b(de|que|le|la) \{/;
  assertEquals(Object.values(spacesMessages.fr).filter((text) => elidable.test(text)), []);
});

Deno.test("spaces i18n: lookup with a placeholder, member counts", () => {
  assertEquals(spacesText("en", "spaces.joinLabel", { room: "Permanence" }), "Join Permanence");
  assertEquals(
    spacesText("de", "spaces.newRoom.title", { space: "Service social" }),
    "Neuen Raum zu Service social hinzufügen",
  );
  assertEquals(spacesText("lb", "spaces.create"), "Beräich uleeën");
  assertEquals(membersText("en", 1), "1 member");
  assertEquals(membersText("en", 1200), "1,200 members");
  assertEquals(membersText("fr", 0), "0 membre");
  assertEquals(membersText("de", 1200), "1.200 Mitglieder");
  assertEquals(membersText("lb", 1), "1 Member");
  assertEquals(membersText("lb", 2), "2 Memberen");
});
