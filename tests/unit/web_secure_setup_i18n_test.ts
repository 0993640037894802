/**
 * The secure-messaging prompt's messages, which load with their own chunk instead of being
 * merged into the catalogues: the same checks the catalogues get (every language translated, the
 * same placeholders, German as "Sie", Luxembourgish as "Dir"), and the lookup with placeholders and French elision.
 */

import { assertEquals } from "./assert.ts";
import { secureMessages, secureText } from "../../web/src/i18n/secure_setup.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("secure setup i18n: every language translates every message, same placeholders", () => {
  const { en, ...others } = secureMessages;
  for (const [locale, table] of Object.entries(others)) {
    assertEquals(Object.keys(table).sort(), Object.keys(en).sort(), `${locale}: the same keys`);
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
  assertEquals(Object.values(secureMessages.de).filter((text) => informal.test(text)), []);
  // Luxembourgish addresses the reader as "Dir", as the other catalogues do.
  const informalLb = /\b(du|dech|däi|deng|denge|dengem|denger|hues|bass)\b/i;
  assertEquals(Object.values(secureMessages.lb).filter((text) => informalLb.test(text)), []);
});

Deno.test("secure setup i18n: lookup with placeholders and French elision", () => {
  assertEquals(secureText("en", "secure.notNow"), "Not now");
  assertEquals(secureText("de", "secure.notNow"), "Später");
  assertEquals(secureText("lb", "secure.shield.device", { device: "Laptop" }), "Apparat: Laptop");
  assertEquals(
    secureText("fr", "secure.shield.identityChanged", { user: "Anna" }).slice(0, 23),
    "L’identité d’Anna a cha",
  );
  // Matrix IDs keep the full word.
  assertEquals(
    secureText("fr", "secure.shield.verifyUser", { user: "@anna:example.org" }),
    "Vérifier @anna:example.org",
  );
});
