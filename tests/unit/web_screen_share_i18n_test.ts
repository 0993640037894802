/**
 * Screen sharing's messages, which load with its chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup with a placeholder.
 */

import { assertEquals } from "./assert.ts";
import { shareMessages, shareText } from "../../web/src/i18n/screen_share.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("screen share i18n: every language translates every message alike", () => {
  const { en, ...others } = shareMessages;
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
  assertEquals(Object.values(shareMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("screen share i18n: lookup with a placeholder", () => {
  assertEquals(shareText("en", "share.remote", { name: "Anna" }), "Screen shared by Anna");
  assertEquals(shareText("fr", "share.remote", { name: "Anna" }), "Écran partagé par Anna");
  assertEquals(shareText("de", "share.start"), "Bildschirm teilen");
  assertEquals(shareText("lb", "share.remote", { name: "Anna" }), "Ecran, deen Anna deelt");
});
