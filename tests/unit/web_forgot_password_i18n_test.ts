/**
 * The password reset messages, which load with their chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup.
 */

import { assertEquals } from "./assert.ts";
import { forgotMessages, forgotText } from "../../web/src/i18n/forgot_password.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("Forgot-password i18n: every language translates every message alike", () => {
  const { en, ...others } = forgotMessages;
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
  assertEquals(Object.values(forgotMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("Forgot-password i18n: lookup", () => {
  assertEquals(forgotText("en", "forgot.open"), "Forgot password?");
  assertEquals(forgotText("de", "forgot.open"), "Passwort vergessen?");
  assertEquals(forgotText("fr", "forgot.open"), "Mot de passe oublié ?");
  assertEquals(forgotText("lb", "forgot.open"), "Passwuert vergiess?");
});
