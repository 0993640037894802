/**
 * The files panel's messages, which load with its chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup with a placeholder.
 */

import { assertEquals } from "./assert.ts";
import { galleryMessages, galleryText } from "../../web/src/i18n/gallery.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("gallery i18n: every language translates every message alike", () => {
  const { en, ...others } = galleryMessages;
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
  assertEquals(Object.values(galleryMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("gallery i18n: lookup with a placeholder", () => {
  assertEquals(galleryText("en", "gallery.open", { name: "plan.png" }), "Open plan.png");
  assertEquals(galleryText("de", "gallery.downloadName", { name: "a.pdf" }), "a.pdf herunterladen");
  assertEquals(galleryText("fr", "gallery.downloadName", { name: "a.pdf" }), "Télécharger a.pdf");
  assertEquals(galleryText("lb", "gallery.older"), "Méi al Fichiere lueden");
});
