/**
 * The names of the SAS verification emoji in the app's languages: the spec's 64, looked up by
 * the English name the SDK gives, the spec's French and German translations.
 */

import { SAS_EMOJI_COUNT, sasEmojiName } from "../../web/src/i18n/sas_emoji.ts";
import { assertEquals } from "./assert.ts";

Deno.test("web sas emoji: the spec's 64 emoji names in every language", () => {
  assertEquals(SAS_EMOJI_COUNT, 64);
  assertEquals(sasEmojiName("Dog", "en"), "Dog");
  assertEquals(sasEmojiName("Dog", "fr"), "Chien");
  assertEquals(sasEmojiName("Dog", "de"), "Hund");
  assertEquals(sasEmojiName("Dog", "lb"), "Hond");
  // Names of several words, and any capitalisation the SDK might use.
  assertEquals(sasEmojiName("Thumbs Up", "fr"), "Pouce en l’air");
  assertEquals(sasEmojiName("light bulb", "de"), "Glühbirne");
  assertEquals(sasEmojiName("Pin", "de"), "Stecknadel");
  // An unknown name stays as the SDK gave it.
  assertEquals(sasEmojiName("Teapot", "fr"), "Teapot");
});
