/**
 * The file preview dialog's messages, which load with its chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup with a placeholder.
 */

import { assertEquals } from "./assert.ts";
import { previewMessages, previewText } from "../../web/src/i18n/file_preview.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("file preview i18n: every language translates every message alike", () => {
  const { en, ...others } = previewMessages;
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
  assertEquals(Object.values(previewMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("file preview i18n: lookup with a placeholder", () => {
  assertEquals(previewText("en", "preview.titleMany", { count: 2 }), "Send 2 files");
  assertEquals(previewText("fr", "preview.thumbnail", { name: "a.png" }), "Aperçu : a.png");
  assertEquals(previewText("lb", "preview.send"), "Schécken");
});
