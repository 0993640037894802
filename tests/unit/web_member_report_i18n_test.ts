/**
 * The member report dialog's messages, which load with its chunk instead of being merged into the
 * catalogues: the catalogues' checks (every language translated, the same placeholders, German
 * as "Sie") and the lookup with a placeholder.
 */

import { assertEquals } from "./assert.ts";
import { memberReportMessages, memberReportText } from "../../web/src/i18n/member_report.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("member report i18n: every language translates every message alike", () => {
  const { en, ...others } = memberReportMessages;
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
  assertEquals(Object.values(memberReportMessages.de).filter((text) => informal.test(text)), []);
});

Deno.test("member report i18n: lookup with a placeholder", () => {
  assertEquals(memberReportText("en", "memberReport.title", { name: "Bob" }), "Report Bob");
  assertEquals(memberReportText("de", "memberReport.title", { name: "Bob" }), "Bob melden");
  assertEquals(memberReportText("fr", "memberReport.title", { name: "Anna" }), "Signaler Anna");
  assertEquals(memberReportText("lb", "memberReport.action"), "Mellen");
});
