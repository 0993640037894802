/**
 * The admin console's messages, which load with the console's chunk: every language has every
 * message with the same placeholders, German says "Sie", and the lookup fills placeholders
 * with French elisions.
 */

import { assertEquals } from "./assert.ts";
import { adminMessages, adminText } from "../../web/src/i18n/admin.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** Words that are the same in English and the language (checked by hand). */
const SAME_WORDS: Record<string, string[]> = {
  fr: ["action", "destinations", "noticeText", "version"],
  de: ["adminColumn", "destination", "name", "token", "version"],
  lb: ["destination", "noticeText", "token"],
};

Deno.test("admin i18n: every language translates every message with the same placeholders", () => {
  const { en, ...others } = adminMessages;
  for (const [locale, table] of Object.entries(others)) {
    const same = Object.entries(en).filter(([key, text]) =>
      (table as Record<string, string>)[key] === text && /\p{L}{3}/u.test(text) &&
      !SAME_WORDS[locale].includes(key)
    );
    assertEquals(same, [], `${locale}: still in English`);
    assertEquals(Object.keys(table).sort(), Object.keys(en).sort(), `${locale}: the same keys`);
    for (const [key, text] of Object.entries(en)) {
      const translated = (table as Record<string, string>)[key];
      assertEquals(placeholders(translated), placeholders(text), `${locale} ${key}`);
    }
  }
  const informal = /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|hast|bist|kannst|musst)\b/i;
  assertEquals(Object.values(adminMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("admin i18n: lookup with placeholders in each language", () => {
  assertEquals(adminText("en", "users"), "Users");
  assertEquals(
    adminText("de", "deactivateTitle", { userId: "@eve:example.org" }),
    "@eve:example.org deaktivieren?",
  );
  assertEquals(
    adminText("fr", "noticeSent", { sent: "3", total: "4" }),
    "Avis envoyé à 3 utilisateurs sur 4.",
  );
  assertEquals(adminText("lb", "usedOf", { used: "1", allowed: "5" }), "1 vun 5");
  assertEquals(adminText("en", "userTitle"), "User {userId}", "no params: unchanged");
});
