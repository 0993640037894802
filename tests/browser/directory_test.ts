/**
 * The app in Luxembourgish, in headless Chromium against a real server: "Start chat" finds a
 * colleague who shares no room with the user by typing "ben" (the server's directory lists
 * every local user), and a conversation shows its day as "Haut", a file's size as "594 Byte"
 * and times in 24 hours, although Chromium's ICU has no Luxembourgish data.
 */

import type { Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { lb } from "../../web/src/i18n/lb.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";

const TIMEOUT = 20_000;
const V3 = "/_matrix/client/v3";

async function signIn(page: Page, server: TestServer, user: TestUser): Promise<void> {
  await page.goto(server.baseUrl);
  await page.getByLabel(lb["auth.username"]).fill(user.userId.slice(1).split(":")[0]);
  await page.getByLabel(lb["auth.password"]).fill(user.password);
  await page.getByRole("button", { name: lb["auth.signIn.submit"] }).click();
  await page.getByRole("navigation", { name: lb["shell.roomList"] }).waitFor();
}

async function named(server: TestServer, user: TestUser, name: string): Promise<void> {
  const res = await server.request(
    "PUT",
    `${V3}/profile/${encodeURIComponent(user.userId)}/displayname`,
    { token: user.accessToken, body: { displayname: name } },
  );
  assertEquals(res.status, 200);
}

/** A plain (unencrypted) room from Carla to Anna with a 594-byte file in it. */
async function roomWithFile(server: TestServer, carla: TestUser, anna: TestUser) {
  const room = await server.request("POST", `${V3}/createRoom`, {
    token: carla.accessToken,
    body: { preset: "private_chat", name: "Akten", invite: [anna.userId] },
  });
  assertEquals(room.status, 200, JSON.stringify(room.body));
  const roomId = room.body.room_id as string;
  const joined = await server.request("POST", `${V3}/join/${encodeURIComponent(roomId)}`, {
    token: anna.accessToken,
    body: {},
  });
  assertEquals(joined.status, 200);
  const upload = await server.request("POST", "/_matrix/media/v3/upload?filename=notiz.txt", {
    token: carla.accessToken,
    body: new Uint8Array(594).fill(65),
    headers: { "Content-Type": "text/plain" },
  });
  assertEquals(upload.status, 200, JSON.stringify(upload.body));
  const sent = await server.request(
    "PUT",
    `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/file1`,
    {
      token: carla.accessToken,
      body: {
        msgtype: "m.file",
        body: "notiz.txt",
        url: upload.body.content_uri,
        info: { size: 594, mimetype: "text/plain" },
      },
    },
  );
  assertEquals(sent.status, 200, JSON.stringify(sent.body));
}

Deno.test({
  name: "web directory and Luxembourgish: Start chat finds Ben; Haut, 594 Byte, 24-hour times",
  ignore: SKIP_REASON !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const server = await startTestServer();
    const browser = await launchBrowser({ locale: "lb-LU" });
    try {
      const anna = await server.register("anna");
      const ben = await server.register("ben"); // shares no room with Anna, in no public room
      await named(server, ben, "Ben Weber");
      const carla = await server.register("carla");
      await named(server, carla, "Carla Schmit");
      await roomWithFile(server, carla, anna);
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await signIn(page, server, anna);

      await t.step("Start chat finds a colleague by typing 'ben'", async () => {
        await page.getByRole("button", { name: lb["rooms.list.startChat"] }).click();
        const dialog = page.getByRole("dialog", { name: lb["rooms.startChat.title"] });
        await dialog.getByLabel(lb["rooms.picker.label"]).fill("ben");
        await dialog.getByRole("button", { name: `Ben Weber ${ben.userId}` }).waitFor();
        await page.keyboard.press("Escape");
        await dialog.waitFor({ state: "detached" });
      });

      await t.step("a conversation shows Haut, 594 Byte and a 24-hour time", async () => {
        await page.getByRole("navigation", { name: lb["shell.roomList"] })
          .getByRole("link", { name: "Akten" }).click();
        await page.getByRole("heading", { name: "Haut", exact: true }).first().waitFor();
        await page.getByText("594 Byte", { exact: true }).waitFor();
        const times = await page.locator("time").allInnerTexts();
        assert(times.length > 0, "the messages show their time");
        for (const time of times) assert(/^\d{1,2}:\d{2}$/.test(time.trim()), time);
        const text = await page.locator("main").innerText();
        for (const english of ["Today", "Yesterday", "byte", "AM", "PM"]) {
          assert(!new RegExp(`\\b${english}\\b`).test(text), `"${english}" in: ${text}`);
        }
      });
      assertEquals(errors, [], "the page threw");
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
