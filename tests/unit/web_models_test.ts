/**
 * The web app's models without a browser: the catalogues, language choice, routes (and that
 * the server serves every one of them), themes, server addresses, and a check that views take
 * their words from the catalogues.
 */

import { en } from "../../web/src/i18n/en.ts";
import { fr } from "../../web/src/i18n/fr.ts";
import { de } from "../../web/src/i18n/de.ts";
import { lb } from "../../web/src/i18n/lb.ts";
import { format, I18n, pickLocale } from "../../web/src/i18n/index.ts";
import { normaliseServerInput } from "../../web/src/matrix/auth.ts";
import { parseRoute, type Route, routePath } from "../../web/src/state/router.ts";
import { searchKey } from "../../web/src/state/room_list.ts";
import { MemoryStorage } from "../../web/src/state/storage.ts";
import { Theme } from "../../web/src/state/theme.ts";
import { APP_PATHS } from "../../server/web_assets.ts";
import { assert, assertEquals } from "./assert.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("web i18n: every catalogue has every key, with the same placeholders", () => {
  for (const [name, catalogue] of Object.entries({ fr, de, lb })) {
    assertEquals(Object.keys(catalogue).sort(), Object.keys(en).sort(), name);
    for (const [key, text] of Object.entries(catalogue)) {
      assert(text.trim().length > 0, `${name} ${key} is empty`);
      assertEquals(
        placeholders(text),
        placeholders(en[key as keyof typeof en]),
        `${name} ${key} placeholders`,
      );
    }
  }
});

Deno.test("web i18n: language from the browser, the saved choice first", () => {
  assertEquals(pickLocale(["pt-BR", "fr-LU", "de"]), "fr");
  assertEquals(pickLocale(["lb-LU"]), "lb");
  assertEquals(pickLocale(["DE-de"]), "de");
  assertEquals(pickLocale(["pt", "es"]), "en");
  assertEquals(pickLocale([]), "en");

  const storage = new MemoryStorage();
  const first = new I18n({ storage, preferred: ["de-LU"] });
  assertEquals(first.locale.value, "de");
  assertEquals(first.t("settings.title"), "Einstellungen");
  first.setLocale("lb");
  const second = new I18n({ storage, preferred: ["de-LU"] });
  assertEquals(second.locale.value, "lb", "the saved choice wins over the browser");
  storage.setItem("gemeng.locale", "xx");
  assertEquals(new I18n({ storage, preferred: ["fr"] }).locale.value, "fr");
});

Deno.test("web i18n: placeholders and plurals", () => {
  assertEquals(format("Hi {name}, {n}", { name: "Anna", n: 3 }), "Hi Anna, 3");
  assertEquals(format("keep {unknown}", {}), "keep {unknown}");
  const i18n = new I18n({ preferred: ["en"] });
  assertEquals(i18n.plural("shell.unread", 1), "1 unread message");
  assertEquals(i18n.plural("shell.unread", 4), "4 unread messages");
  i18n.setLocale("fr");
  assertEquals(i18n.plural("shell.unread", 0), "0 message non lu", "French 0 is singular");
  assertEquals(i18n.t("shell.signedInAs", { userId: "@a:b" }), "Connecté en tant que @a:b");
});

Deno.test("web routes: paths round-trip and the server serves each of them", () => {
  const routes: Route[] = [
    { name: "home" },
    { name: "signIn" },
    { name: "signUp" },
    { name: "settings" },
    { name: "admin", section: "" },
    { name: "admin", section: "users" },
    { name: "room", roomId: "!abc:example.org" },
    { name: "room", roomId: "!with/slash?and#hash:x" },
  ];
  const served = APP_PATHS.map((path) => new RegExp(`^${path.replace(/:[^/]+/g, "[^/]+")}$`));
  for (const route of routes) {
    const path = routePath(route);
    assertEquals(parseRoute(path), route, path);
    assert(served.some((pattern) => pattern.test(path)), `the server serves ${path}`);
  }
  assertEquals(parseRoute("/no/such/page"), { name: "home" });
  assertEquals(parseRoute("/rooms/%E0%A4%A"), { name: "home" }, "bad escapes");
});

Deno.test("web theme: follows the device until the user chooses", () => {
  const storage = new MemoryStorage();
  const theme = new Theme({ storage, systemPrefersDark: true });
  assertEquals(theme.choice.value, "system");
  assertEquals(theme.effective.value, "dark");
  theme.setSystemPrefersDark(false);
  assertEquals(theme.effective.value, "light");
  theme.toggle();
  assertEquals(theme.choice.value, "dark");
  assertEquals(new Theme({ storage, systemPrefersDark: false }).effective.value, "dark");
  theme.choose("system");
  assertEquals(storage.getItem("gemeng.theme"), null);
});

Deno.test("web auth: server addresses as people type them", () => {
  assertEquals(normaliseServerInput("example.org"), "https://example.org");
  assertEquals(normaliseServerInput(" https://matrix.example.org/ "), "https://matrix.example.org");
  assertEquals(normaliseServerInput("http://127.0.0.1:8008"), "http://127.0.0.1:8008");
  assertEquals(normaliseServerInput("https://example.org/matrix//"), "https://example.org/matrix");
});

Deno.test("web room list: search ignores case and accents", () => {
  assertEquals(searchKey("Ève Müller"), "eve muller");
  assert(searchKey("Conseil Communal de Préizerdaul").includes(searchKey("PREIZ")));
});

Deno.test("web views: no words written into components", async () => {
  const dir = new URL("../../web/src/views/", import.meta.url);
  const problems: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".tsx")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, dir));
    for (const match of source.matchAll(/>([^<>{}]*\p{L}[^<>{}]*)<\//gu)) {
      problems.push(`${entry.name}: text "${match[1].trim()}"`);
    }
    for (const match of source.matchAll(/\b(aria-label|title|placeholder|alt)="([^"]*)"/g)) {
      problems.push(`${entry.name}: ${match[1]}="${match[2]}"`);
    }
  }
  assertEquals(problems, [], "views must take their words from web/src/i18n");
});
