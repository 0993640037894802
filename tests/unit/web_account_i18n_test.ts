/**
 * The account settings' messages, which load with their own chunk instead of being merged into
 * the catalogues: the same checks the catalogues get (every language translated, the same
 * placeholders, German as "Sie"), and the lookup with placeholders, plurals and French elision.
 */

import { assertEquals } from "./assert.ts";
import { accountMessages, accountPlural, accountText } from "../../web/src/i18n/account.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("account i18n: every language translates every message with the same placeholders", () => {
  const { en, ...others } = accountMessages;
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
  const informal = /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|hast|bist|kannst|musst)\b/i;
  assertEquals(Object.values(accountMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("account i18n: lookup, plural forms and numbers in the language", () => {
  assertEquals(accountText("en", "account.profile"), "Profile");
  assertEquals(accountText("de", "account.changePassword"), "Passwort ändern");
  assertEquals(accountPlural("en", "account.signedOutOthers", 1), "1 device was signed out.");
  assertEquals(
    accountPlural("fr", "account.signedOutOthers", 3),
    "3 appareils ont été déconnectés.",
  );
  assertEquals(
    accountPlural("lb", "account.signedOutOthers", 1200),
    "1.200 Apparater goufen ofgemellt.",
  );
});
