/**
 * `deno run -A web/screenshots.ts`: photographs the main screens at phone (360×780) and
 * desktop (1280×800) width into docs/screenshots/, light and (a few) dark. A test server on
 * loopback, two people in two headless Chromiums (fake camera, microphone and position) and a
 * stand-in map tile server make everything local: no network is needed. Anna's encrypted
 * conversation with Ben gets text, a reply, an edit, reactions, an image, a voice message, a
 * poll and a location (after the secure-messaging prompt of the first sign-in); then come room
 * settings, message search, the room's files, secure messaging, emoji verification and an
 * incoming call. Re-run it when the screens change; emoji need an emoji font (Debian:
 * fonts-noto-color-emoji), or they show as empty boxes.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { encode as encodePng } from "fast-png";
import { type BrowserSession, launchBrowser } from "../tests/browser/chromium.ts";
import { startTestServer, type TestServer, type TestUser } from "../tests/support/test_server.ts";

const OUT = new URL("../docs/screenshots/", import.meta.url);
const TIMEOUT = 60_000;
const ROOM = "Gemengerot";
const LUXEMBOURG = { latitude: 49.6116, longitude: 6.1319 };

const SIZES = {
  phone: { width: 360, height: 780 },
  desktop: { width: 1280, height: 800 },
} as const;
type Size = keyof typeof SIZES;

/** A person in a browser of their own. */
interface Person {
  user: TestUser;
  browser: BrowserSession;
  page: Page;
}

/** An RGB picture made of flat shapes (flat colours keep the PNGs small). */
function picture(width: number, height: number, paint: (x: number, y: number) => number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const rgb = paint(x, y);
      data.set([rgb >> 16, (rgb >> 8) & 255, rgb & 255], (y * width + x) * 3);
    }
  }
  return encodePng({ width, height, data, channels: 3 });
}

/** A village under the sun: the image Anna sends. */
function villagePicture(): Uint8Array {
  return picture(800, 500, (x, y) => {
    if ((x - 620) ** 2 + (y - 110) ** 2 < 55 ** 2) return 0xf6c343;
    if (x > 300 && x < 420 && y > 250 && y < 360) return y < 290 ? 0xb5452f : 0xf1ead8;
    if (y > 330 + 30 * Math.sin(x / 90)) return 0x4d8a3c;
    if (y > 290 + 40 * Math.sin(x / 140 + 1)) return 0x7fb069;
    return y < 160 ? 0x8ec5e8 : 0xb6dbf2;
  });
}

/** A stand-in street map tile: blocks, streets and a park, varying with the tile. */
function mapTile(tx: number, ty: number): Uint8Array {
  const shift = (tx * 37 + ty * 11) % 64;
  return picture(256, 256, (x, y) => {
    const street = (x + shift) % 96 < 6 || (y + shift * 2) % 80 < 6;
    if (street) return 0xffffff;
    const block = Math.floor((x + shift) / 96) + Math.floor((y + shift * 2) / 80);
    if ((tx + ty + block) % 7 === 0) return 0xc8e6b0;
    if ((tx * 3 + block) % 11 === 0) return 0xaad3df;
    return 0xece8df;
  });
}

function startTileServer(): { url: string; close(): Promise<void> } {
  const cache = new Map<string, Uint8Array>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const match = /^\/tiles\/\d+\/(\d+)\/(\d+)\.png$/.exec(new URL(req.url).pathname);
    if (!match) return new Response("no such tile", { status: 404 });
    const key = `${match[1]}/${match[2]}`;
    if (!cache.has(key)) cache.set(key, mapTile(Number(match[1]), Number(match[2])));
    return new Response(cache.get(key) as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "image/png", "access-control-allow-origin": "*" },
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

async function api(server: TestServer, user: TestUser, method: string, path: string, body = {}) {
  const res = await server.request(method, `/_matrix/client/v3${path}`, {
    token: user.accessToken,
    body,
  });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Two people with names, the encrypted room, and a few other rooms for the list. */
async function prepareServer(server: TestServer): Promise<[TestUser, TestUser]> {
  const anna = await server.register("anna");
  const ben = await server.register("ben");
  for (const [user, name] of [[anna, "Anna Muller"], [ben, "Ben Schmit"]] as const) {
    await api(server, user, "PUT", `/profile/${encodeURIComponent(user.userId)}/displayname`, {
      displayname: name,
    });
  }
  const room = await api(server, anna, "POST", "/createRoom", {
    name: ROOM,
    preset: "private_chat", // encrypted (the server's default for private rooms)
    invite: [ben.userId],
    topic: "Sëtzungen a Pläng vum Gemengerot",
  });
  await api(server, ben, "POST", `/join/${encodeURIComponent(room.room_id)}`);
  const others: Record<string, string> = {};
  for (const name of ["Équipe sociale", "Bureau des citoyens", "Conseil des jeunes"]) {
    const created = await api(server, ben, "POST", "/createRoom", {
      name,
      preset: "public_chat",
      invite: [anna.userId],
    });
    others[name] = created.room_id;
  }
  for (const name of ["Équipe sociale", "Bureau des citoyens"]) {
    await api(server, anna, "POST", `/join/${encodeURIComponent(others[name])}`);
  }
  const texts = ["Moien!", "D'Fest ass de 14. Juni.", "Wien hëlleft mat?"];
  for (const [i, body] of texts.entries()) {
    const path = `/rooms/${encodeURIComponent(others["Équipe sociale"])}/send/m.room.message/s${i}`;
    await api(server, ben, "PUT", path, { msgtype: "m.text", body });
  }
  return [anna, ben];
}

async function openPerson(server: TestServer, user: TestUser): Promise<Person> {
  const browser = await launchBrowser({
    viewport: SIZES.desktop,
    fakeMedia: true,
    geolocation: LUXEMBOURG,
  });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (err) => console.warn(`[${user.userId} page error] ${err.message}`));
  await page.goto(server.baseUrl);
  await page.evaluate(`localStorage.setItem("gemeng.theme", "light")`);
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  return { user, browser, page };
}

async function signIn(person: Person): Promise<void> {
  const { page, user } = person;
  await page.getByLabel("Username").fill(user.userId.slice(1).split(":")[0]);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/** Sets up secure messaging from the prompt after the first sign-in (photographed for anna). */
async function setUpSecureMessaging(person: Person, options: { shots?: boolean } = {}) {
  const { page } = person;
  const prompt = page.getByRole("complementary", { name: "Keep your messages safe" });
  await prompt.waitFor();
  if (options.shots) {
    await shoot(page, "secure-setup-desktop");
    await resize(page, "phone");
    await shoot(page, "secure-setup-phone");
    await resize(page, "desktop");
  }
  await prompt.getByRole("button", { name: "Set up secure messaging" }).click();
  const dialog = page.getByRole("dialog", { name: "Your recovery key" });
  await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.getByRole("complementary", { name: "Secure messaging" })
    .getByRole("button", { name: "Close" }).click();
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByText("Cross-signing is ready.").waitFor();
}

async function openRoom({ page }: Person): Promise<void> {
  const back = page.getByRole("link", { name: "Back to conversations" });
  if (await back.count()) await back.click();
  await page.getByRole("navigation", { name: "Conversation list" })
    .getByRole("link", { name: ROOM }).click();
  await page.getByRole("heading", { name: ROOM }).waitFor();
}

/** Polls `expression` in the page (the app's CSP forbids playwright's in-page polling). */
async function until(page: Page, expression: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tile(person: Person, text: string) {
  return person.page.getByRole("log", { name: `Messages in ${ROOM}` })
    .locator("li[data-event-id]")
    .filter({ has: person.page.getByRole("article").filter({ hasText: text }) }).first();
}

async function say({ page }: Person, text: string): Promise<void> {
  await page.getByRole("textbox", { name: "Message", exact: true }).click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function act(person: Person, text: string, action: string): Promise<void> {
  const message = tile(person, text);
  await message.hover();
  await message.getByRole("toolbar", { name: "Message actions" })
    .getByRole("button", { name: action, exact: true }).click();
}

/** Text, an edit, a reply, reactions and an image, each seen arriving on the other side. */
async function converseInText(anna: Person, ben: Person): Promise<void> {
  await say(ben, "Moien Anna! Hues du d'Dokumenter fir d'Sëtzung?");
  await tile(anna, "Dokumenter").waitFor();
  await say(anna, "Jo, ech schécken der se elo.");
  await act(anna, "ech schécken der se", "Edit");
  await anna.page.keyboard.press("End");
  await anna.page.keyboard.press("Backspace");
  await anna.page.keyboard.type(", mat dem Plang vum Schoulhaff.");
  await anna.page.keyboard.press("Enter");
  await tile(ben, "Schoulhaff").getByText("(edited)").waitFor();
  await act(ben, "Schoulhaff", "Reply");
  await ben.page.keyboard.type("Merci! Ech kucken en nach haut.");
  await ben.page.keyboard.press("Enter");
  await tile(anna, "Ech kucken en").waitFor();
  await act(anna, "Ech kucken en", "React");
  await anna.page.getByRole("button", { name: "React with 👍" }).click();
  await act(ben, "Schoulhaff", "React");
  await ben.page.getByRole("button", { name: "React with 🎉" }).click();
  await tile(anna, "Schoulhaff").getByRole("button", { name: /^🎉 1/ }).waitFor();

  const [chooser] = await Promise.all([
    anna.page.waitForEvent("filechooser"),
    anna.page.getByRole("button", { name: "Attach file" }).click(),
  ]);
  await chooser.setFiles({
    name: "schoulhaff.png",
    mimeType: "image/png",
    buffer: Buffer.from(villagePicture()),
  });
  // Files go through the preview dialog first.
  await anna.page.getByRole("dialog").getByRole("button", { name: "Send", exact: true }).click();
  await ben.page.getByRole("button", { name: "Open image schoulhaff.png" }).waitFor();
  await anna.page.getByRole("button", { name: "Open image schoulhaff.png" }).waitFor();
}

/** A voice message, a poll with votes and a location. */
async function converseInMedia(anna: Person, ben: Person): Promise<void> {
  await anna.page.getByRole("button", { name: "Create poll" }).click();
  const dialog = anna.page.getByRole("dialog", { name: "Create poll" });
  await dialog.getByLabel("Question").fill("Wéini treffe mir eis?");
  const answers = ["Méindeg, 18 Auer", "Mëttwoch, 19 Auer", "Samschdeg moies"];
  for (const [i, text] of answers.entries()) {
    if (i >= 2) await dialog.getByRole("button", { name: "Add answer" }).click();
    await dialog.getByLabel(`Answer ${i + 1}`, { exact: true }).fill(text);
  }
  await dialog.getByRole("button", { name: "Create poll" }).click();
  const card = (person: Person) =>
    person.page.getByRole("region", { name: "Wéini treffe mir eis?" });
  await card(ben).getByRole("radio", { name: `Vote for ${answers[1]}` }).check();
  await card(anna).getByRole("radio", { name: `Vote for ${answers[1]}` }).check();
  await card(anna).getByText("Based on 2 votes").waitFor();

  await ben.page.getByRole("button", { name: "Share location" }).click();
  const share = ben.page.getByRole("dialog", { name: "Share location" });
  await share.getByRole("button", { name: "Share my current location" }).click();
  await share.getByRole("button", { name: "Send location" }).click();
  await anna.page.getByRole("figure").filter({ hasText: "Location of Ben Schmit" }).waitFor();

  await ben.page.getByRole("button", { name: "Record voice message" }).click();
  await ben.page.getByRole("timer").waitFor();
  await ben.page.waitForTimeout(3000);
  await ben.page.getByRole("button", { name: "Send voice message" }).click();
  await anna.page.getByRole("button", { name: "Play voice message" }).waitFor();
}

const IMAGES_LOADED = `[...document.querySelectorAll("main img")]
  .every((img) => img.complete && img.naturalWidth > 0)`;

async function shoot(page: Page, name: string, arrange?: () => Promise<void>): Promise<void> {
  await until(page, IMAGES_LOADED);
  // No hover toolbar or focus ring left from the last click.
  await page.mouse.move(0, 0);
  await page.evaluate(`document.activeElement?.blur()`);
  await arrange?.();
  await page.waitForTimeout(300); // transitions settle
  await page.screenshot({ path: new URL(`${name}.png`, OUT).pathname });
  console.log(`  ${name}.png`);
}

async function resize(page: Page, size: Size): Promise<void> {
  await page.setViewportSize(SIZES[size]);
  await page.waitForTimeout(200);
}

async function setTheme(page: Page, theme: "light" | "dark"): Promise<void> {
  const other = theme === "dark" ? "light" : "dark";
  const button = page.getByRole("button", { name: `Switch to the ${theme} theme` });
  if (await button.count()) await button.click();
  await page.getByRole("button", { name: `Switch to the ${other} theme` }).waitFor();
}

/** The open conversation at both widths (the timeline keeps to its newest messages). */
async function conversationShots(anna: Person, name: string, dark: boolean): Promise<void> {
  const { page } = anna;
  for (const size of ["desktop", "phone"] as const) {
    await resize(page, size);
    await page.getByRole("log", { name: `Messages in ${ROOM}` }).waitFor();
    await shoot(page, `${name}-${size}`);
  }
  await resize(page, "desktop");
  if (dark) {
    await setTheme(page, "dark");
    await shoot(page, `${name}-desktop-dark`);
    await setTheme(page, "light");
  }
}

/** The conversation list, room settings and the settings' secure messaging, at both widths. */
async function screenShots(anna: Person): Promise<void> {
  const { page } = anna;
  for (const size of ["desktop", "phone"] as const) {
    await resize(page, size);
    await page.goto(`${new URL(page.url()).origin}/`);
    await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
    await page.getByLabel("3 unread messages").waitFor();
    await shoot(page, `room-list-${size}`);
    if (size === "phone") {
      await setTheme(page, "dark");
      await shoot(page, "room-list-phone-dark");
      await setTheme(page, "light");
    }
    await openRoom(anna);
    if (size === "desktop") {
      await page.getByRole("button", { name: "Room settings" }).click();
    } else {
      await page.getByRole("button", { name: "Room options" }).click();
      await page.getByRole("menuitem", { name: "Room settings" }).click();
    }
    const dialog = page.getByRole("dialog", { name: `Settings of ${ROOM}` });
    await dialog.getByRole("combobox", { name: "Role of Ben Schmit" }).waitFor();
    await shoot(page, `room-settings-${size}`);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    // Searching the encrypted conversation, in this device's own index.
    if (size === "desktop") {
      await page.getByRole("button", { name: "Search in this conversation" }).click();
    } else {
      await page.getByRole("button", { name: "Room options" }).click();
      await page.getByRole("menuitem", { name: "Search in this conversation" }).click();
    }
    const search = page.getByRole("dialog", { name: `Search in ${ROOM}` });
    await search.getByRole("searchbox", { name: "Words to find" }).fill("Schoulhaff");
    await search.getByRole("searchbox", { name: "Words to find" }).press("Enter");
    await search.getByText(/Messages found/).waitFor();
    await shoot(page, `search-${size}`);
    await page.keyboard.press("Escape");
    await search.waitFor({ state: "detached" });
    // The room's files: the image on the media tab.
    if (size === "desktop") {
      await page.getByRole("button", { name: "Files", exact: true }).click();
    } else {
      await page.getByRole("button", { name: "Room options" }).click();
      await page.getByRole("menuitem", { name: "Files" }).click();
    }
    const files = page.getByRole("complementary", { name: "Files in this conversation" });
    await files.getByRole("button", { name: /^Open / }).first().waitFor();
    await until(
      page,
      `[...document.querySelectorAll("[data-files-panel] img")]
      .some((img) => img.complete && img.naturalWidth > 0)`,
    );
    await shoot(page, `files-${size}`);
    await files.getByRole("button", { name: "Close the files" }).click();
    await files.waitFor({ state: "detached" });
    // On a phone the open room fills the screen: settings are reached from the list.
    if (size === "phone") await page.getByRole("link", { name: "Back to conversations" }).click();
    await page.getByRole("link", { name: "Settings" }).click();
    const region = page.getByRole("region", { name: "Secure messaging" });
    await region.getByText("Cross-signing is ready.").waitFor();
    await shoot(page, `secure-messaging-${size}`, async () => {
      // A function, not source text: locator.evaluate does not call a string's function.
      await region.evaluate((el: unknown) =>
        (el as { scrollIntoView(options: unknown): void }).scrollIntoView({ block: "start" })
      );
    });
  }
}

async function verificationShots(anna: Person, ben: Person): Promise<void> {
  await resize(anna.page, "desktop");
  // Anna asks to be warned about people she has not verified: Ben's messages get the mark that
  // the verification starts from.
  const back = anna.page.getByRole("link", { name: "Back to conversations" });
  if (await back.count() === 0) await anna.page.getByRole("link", { name: "Settings" }).click();
  await anna.page.getByRole("checkbox", {
    name: "Warn me about messages from people I have not verified",
  }).check();
  await openRoom(anna);
  await tile(anna, "Ech kucken en").getByRole("button", { name: "Sender not verified" }).click();
  await anna.page.getByRole("button", { name: `Verify ${ben.user.userId}` }).click();
  const bens = ben.page.getByRole("dialog", { name: "Verification" });
  await bens.getByRole("button", { name: "Accept" }).click();
  const annas = anna.page.getByRole("dialog", { name: "Verification" });
  await annas.getByRole("list", { name: "Emoji to compare" }).waitFor();
  await shoot(anna.page, "verification-desktop");
  await resize(anna.page, "phone");
  await shoot(anna.page, "verification-phone");
  await Promise.all([
    annas.getByRole("button", { name: "They match" }).click(),
    bens.getByRole("button", { name: "They match" }).click(),
  ]);
  await annas.getByText(`${ben.user.userId} is verified.`).waitFor();
  await annas.getByRole("button", { name: "Close" }).click();
  await bens.getByRole("button", { name: "Close" }).click();
}

async function callShots(anna: Person, ben: Person): Promise<void> {
  await resize(anna.page, "desktop");
  for (const size of ["desktop", "phone"] as const) {
    await resize(ben.page, size);
    await anna.page.getByRole("button", { name: "Video call" }).click();
    const ringing = ben.page.getByRole("alertdialog", { name: "Incoming video call" });
    await ringing.getByText("Anna Muller is calling you").waitFor();
    await shoot(ben.page, `incoming-call-${size}`);
    await ringing.getByRole("button", { name: "Decline" }).click();
    await anna.page.getByRole("region", { name: "Call with Ben Schmit" })
      .waitFor({ state: "detached" });
  }
}

async function main(): Promise<void> {
  await Deno.mkdir(OUT, { recursive: true });
  const tiles = startTileServer();
  const server = await startTestServer({
    config: {
      web: {
        map_tile_url: `${tiles.url}/tiles/{z}/{x}/{y}.png`,
        map_attribution: "Stand-in map tiles",
      },
    },
  });
  const people: Person[] = [];
  try {
    const [annaUser, benUser] = await prepareServer(server);
    const anna = await openPerson(server, annaUser);
    const ben = await openPerson(server, benUser);
    people.push(anna, ben);
    await shoot(anna.page, "sign-in-desktop");
    await resize(anna.page, "phone");
    await shoot(anna.page, "sign-in-phone");
    await resize(anna.page, "desktop");
    await Promise.all([signIn(anna), signIn(ben)]);
    await Promise.all([setUpSecureMessaging(anna, { shots: true }), setUpSecureMessaging(ben)]);
    await Promise.all([openRoom(anna), openRoom(ben)]);
    await converseInText(anna, ben);
    await conversationShots(anna, "conversation", true);
    await converseInMedia(anna, ben);
    await conversationShots(anna, "conversation-media", false);
    await screenShots(anna);
    await verificationShots(anna, ben);
    await openRoom(anna);
    await callShots(anna, ben);
  } finally {
    await Promise.all(people.map((person) => person.browser.close()));
    await server.close();
    await tiles.close();
  }
  console.log(`screenshots written to ${OUT.pathname}`);
}

if (import.meta.main) await main();
