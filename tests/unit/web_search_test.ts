/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The message search's pure parts: its messages (loaded with the panel's chunk, so checked here
 * as the catalogues are: every language translated, the same placeholders, German as "Sie"),
 * the words of the local index (the same as the server's), and marking the matches.
 */

import { assertEquals } from "./assert.ts";
import { searchMessages, searchText } from "../../web/src/i18n/search.ts";
import { searchTerms } from "../../web/src/state/search_local.ts";
import { markTerms } from "../../web/src/state/message_search.ts";
import { tokenize } from "../../server/search/index.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("search i18n: every language translates every message alike", () => {
  const { en, ...others } = searchMessages;
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
  assertEquals(Object.values(searchMessages.de).filter((text) => informal.test(text)), []);
  // French elides before a vowel in these fixed texts too.
  const unelided = /\b(de|que|le|la|ne) [aeiouéèêh]/i;
  assertEquals(Object.values(searchMessages.fr).filter((text) => unelided.test(text)), []);
});

Deno.test("search i18n: lookup with a placeholder", () => {
  assertEquals(searchText("en", "search.title.room", { room: "Budget" }), "Search in Budget");
  assertEquals(searchText("de", "search.count", { count: "3" }), "Gefundene Nachrichten: 3");
  assertEquals(searchText("lb", "search.submit"), "Sichen");
});

Deno.test("search: the local index's words are the server's", () => {
  for (const text of ["Héllo, WORLD! l'été 2026", "Ｆｕｌｌ width ﬁ", "Moien, wéi geet et?"]) {
    assertEquals(searchTerms(text), [...new Set(tokenize(text))]);
  }
  assertEquals(searchTerms("a".repeat(50)), ["a".repeat(40)]);
  assertEquals(searchTerms("!!! ..."), []);
});

Deno.test("search: matches are marked as whole words starting with a search word", () => {
  assertEquals(markTerms("The Zucchini and zucchinis, not azucchini", ["zucchini"]), [
    { text: "The ", mark: false },
    { text: "Zucchini", mark: true },
    { text: " and ", mark: false },
    { text: "zucchinis", mark: true },
    { text: ", not azucchini", mark: false },
  ]);
  assertEquals(markTerms("nothing here", []), [{ text: "nothing here", mark: false }]);
  assertEquals(markTerms("Été", ["été"]), [{ text: "Été", mark: true }]);
});
