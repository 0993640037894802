/**
 * The single sign-on messages, which load with their chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup with a placeholder.
 */

import { assertEquals } from "./assert.ts";
import { ssoMessages, ssoText } from "../../web/src/i18n/sso.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("SSO i18n: every language translates every message alike", () => {
  const { en, ...others } = ssoMessages;
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
  assertEquals(Object.values(ssoMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("SSO i18n: lookup with a placeholder", () => {
  assertEquals(ssoText("en", "sso.continueWith", { name: "Gemeng" }), "Continue with Gemeng");
  assertEquals(ssoText("de", "sso.continueWith", { name: "Gemeng" }), "Weiter mit Gemeng");
  assertEquals(ssoText("fr", "sso.continueWith", { name: "Gemeng" }), "Continuer avec Gemeng");
  assertEquals(ssoText("lb", "sso.continueWith", { name: "Gemeng" }), "Weider mat Gemeng");
});
