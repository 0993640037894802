/**
 * The catalogues and formatting of the web app: no English left where a translation exists,
 * German addresses the reader as "Sie" throughout, French elides before names, and dates,
 * times, sizes and lists come out in Luxembourgish although the runtime's ICU has no `lb`.
 */

import { assert, assertEquals } from "./assert.ts";
import { en } from "../../web/src/i18n/en.ts";
import { fr } from "../../web/src/i18n/fr.ts";
import { de } from "../../web/src/i18n/de.ts";
import { lb } from "../../web/src/i18n/lb.ts";
import { I18n } from "../../web/src/i18n/index.ts";
import {
  elideFrench,
  formatBytes,
  formatDateTime,
  formatDay,
  formatList,
  formatNumber,
  formatTime,
} from "../../web/src/i18n/format.ts";

/** Words written the same in English and in the language (checked by a person). */
const SAME_AS_ENGLISH: Readonly<Record<"fr" | "de" | "lb", readonly string[]>> = {
  fr: [
    "app.name",
    "shell.rooms",
    "shell.highlight.one",
    "shell.highlight.other",
    "shell.invites",
    "timeline.history.original",
    "timeline.composer.label",
    "rooms.notifications.title",
    "polls.form.question",
    "polls.votes.one",
    "polls.votes.other",
  ],
  de: [
    "app.name",
    "auth.server",
    "timeline.thread.title",
    "rooms.role.admin",
    "rooms.role.moderator",
    "files.uploads",
  ],
  lb: [
    "app.name",
    "auth.server",
    "timeline.thread.title",
    "timeline.composer.label",
    "rooms.role.admin",
    "rooms.role.moderator",
    "rooms.role.member",
  ],
};

Deno.test("i18n: no English text is left in the French, German and Luxembourgish tables", () => {
  for (const [locale, table] of Object.entries({ fr, de, lb })) {
    const allowed = new Set(SAME_AS_ENGLISH[locale as "fr" | "de" | "lb"]);
    const english = Object.entries(en).filter(([key, text]) =>
      (table as Record<string, string>)[key] === text &&
      /\p{L}{3}/u.test(text.replace(/\{\w+\}/g, "")) && !allowed.has(key)
    ).map(([key]) => key);
    assertEquals(english, [], `${locale}: still in English`);
  }
});

Deno.test("i18n: German says Sie, never du", () => {
  // The pronouns and the verb forms of "du", and imperatives that only "du" takes.
  const informal =
    /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines|hast|bist|kannst|willst|möchtest|musst)\b|(^|[.!?:]\s+)(Gib|Nimm|Prüfe|Bestätige|Verifiziere|Bewahre|Vergleiche|Richte|Warte|Wähle|Tippe|Öffne|Versuche|Markiere|Vertraue|Verwende)\b/i;
  const found = Object.entries(de).filter(([, text]) => informal.test(text));
  assertEquals(found, []);
  assert(Object.values(de).some((text) => /\bSie\b/.test(text)));
});

Deno.test("i18n: French elides de, que, le and la before a vowel or mute h", () => {
  assertEquals(elideFrench("Position de {name}", { name: "anna" }), "Position d’{name}");
  assertEquals(elideFrench("De {name}", { name: "Émile" }), "D’{name}");
  assertEquals(elideFrench("la {x} que {y}", { x: "Hélène", y: "Yves" }), "l’{x} qu’{y}");
  assertEquals(elideFrench("Position de {name}", { name: "Ben" }), "Position de {name}");
  assertEquals(elideFrench("de {name}", { name: "@anna:example.org" }), "de {name}");
  assertEquals(elideFrench("de {count}", { count: 11 }), "de {count}");
  const i18n = new I18n({ preferred: ["fr"] });
  assertEquals(i18n.t("location.of", { name: "anna" }), "Position d’anna");
  assertEquals(i18n.t("location.of", { name: "Ben" }), "Position de Ben");
  assertEquals(i18n.t("calls.remoteVideo", { name: "Hugo" }), "Caméra d’Hugo");
  // German and Luxembourgish are left as they are.
  assertEquals(
    new I18n({ preferred: ["de"] }).t("location.of", { name: "anna" }).includes("’"),
    false,
  );
});

Deno.test("i18n: Luxembourgish days, times, sizes and lists without lb data in ICU", () => {
  const now = new Date(2026, 11, 6, 18, 0).getTime(); // a Sunday
  const at = (day: number, hour = 14) => new Date(2026, 11, day, hour, 3).getTime();
  assertEquals(formatDay("lb", at(6), now), "Haut");
  assertEquals(formatDay("lb", at(5), now), "Gëschter");
  assertEquals(formatDay("lb", at(3), now), "Donneschdeg, 3. Dezember");
  assertEquals(formatDay("lb", new Date(2025, 2, 17).getTime(), now), "Méindeg, 17. Mäerz 2025");
  assertEquals(formatTime("lb", at(6)), "14:03");
  assertEquals(formatDateTime("lb", at(6)), "06.12.2026, 14:03");
  assertEquals(formatBytes("lb", 594), "594 Byte");
  assertEquals(formatBytes("lb", 1_500_000), "1,5 MB");
  assertEquals(formatList("lb", ["Anna", "Ben", "Carla"]), "Anna, Ben an Carla");
  assertEquals(formatNumber("lb", 12345.5), "12.345,5");
  // The other languages through Intl as it is.
  assertEquals(formatDay("de", at(5), now), "Gestern");
  assertEquals(formatDay("fr", at(6), now), "Aujourd’hui");
  assertEquals(formatBytes("fr", 594).replace(/\s/u, " "), "594 o"); // a narrow no-break space
  assertEquals(formatBytes("en", 594), "594 byte");
  assertEquals(
    new I18n({ preferred: ["lb"] }).plural("shell.unread", 1234),
    "1.234 net gelies Messagen",
  );
});
