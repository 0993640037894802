/**
 * Room management and notifications in headless Chromium against a real server: starting a
 * direct chat from the user directory (encrypted, `is_direct`, recorded in `m.direct`, reopened
 * rather than duplicated), creating a group, the room settings (name, topic, roles, removing a
 * member), leaving, what a member without power may not change, and desktop notifications.
 * The other people are plain HTTP clients of the same server.
 */

import type { Page } from "playwright-core";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { flushCrypto, sdkClient, stopAll } from "../integration/e2ee_sdk_support.ts";
import { violations } from "./axe.ts";
import { startSyncing } from "../support/sdk_client.ts";
import {
  browserTestsNamed,
  clickThrough,
  signIn as signInThroughForm,
  TINY_PNG,
  withApp,
} from "./session_support.ts";
import { setDisplayName } from "./room_support.ts";

const TIMEOUT = 15_000;
const browserTest = browserTestsNamed("web rooms: ");
const MEGOLM = "m.megolm.v1.aes-sha2";

/** Signs in through the form; returns the access token of the browser's session. */
async function signIn(page: Page, server: TestServer, user: TestUser): Promise<string> {
  await signInThroughForm(page, server, user);
  // The browser's own session (a new device), for checking what it did over HTTP.
  const stored = await page.evaluate<string>(`localStorage.getItem("gemeng.session")`);
  return JSON.parse(stored).accessToken;
}

/** A user with a display name, visible in everyone's directory (joined to a public room). */
async function person(server: TestServer, localpart: string, name: string): Promise<TestUser> {
  const user = await server.register(localpart);
  await setDisplayName(server, user, name);
  const square = await server.request("POST", "/_matrix/client/v3/createRoom", {
    token: user.accessToken,
    body: { preset: "public_chat", name: `Square of ${name}` },
  });
  assertEquals(square.status, 200, JSON.stringify(square.body));
  return user;
}

function roomPath(roomId: string, rest: string): string {
  return `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}${rest}`;
}

async function state(server: TestServer, token: string, roomId: string, key: string) {
  return await server.request("GET", roomPath(roomId, `/state/${key}`), { token });
}

async function openRoomId(page: Page): Promise<string> {
  await page.waitForURL(/\/rooms\//);
  return decodeURIComponent(new URL(page.url()).pathname.slice("/rooms/".length));
}

/**
 * Waits until `expression` is true in the page. Evaluated through the DevTools protocol on each
 * poll, since the page's CSP forbids the string evaluation `waitForFunction` does in it.
 */
async function until(page: Page, expression: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

browserTest("start a direct chat from the directory; asking again reopens it", async () => {
  await withApp({ timeoutMs: TIMEOUT }, async (page, server) => {
    const anna = await server.register("anna");
    const bob = await person(server, "bob", "Bob Builder");
    const token = await signIn(page, server, anna);

    await page.getByRole("button", { name: "Start chat" }).click();
    const dialog = page.getByRole("dialog", { name: "Start a chat" });
    await dialog.waitFor();
    assertEquals(
      await page.evaluate("document.activeElement?.getAttribute('type')"),
      "search",
      "focus starts in the search field",
    );
    // Someone on another server is offered from the full ID alone.
    await dialog.getByLabel("Search people").fill("@carol:elsewhere.example");
    await dialog.getByRole("button", { name: "@carol:elsewhere.example", exact: true }).waitFor();
    await dialog.getByLabel("Search people").fill("bob");
    const pick = dialog.getByRole("button", { name: "Bob Builder @bob:localhost" });
    await pick.waitFor();
    assertEquals(await violations(page), [], "the start-a-chat dialog");
    await pick.click();

    const roomId = await openRoomId(page);
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("heading", { name: "Bob Builder" }).waitFor();
    const list = page.getByRole("navigation", { name: "Conversation list" });
    await list.getByRole("link", { name: "Bob Builder" }).waitFor();

    const encryption = await state(server, token, roomId, "m.room.encryption");
    assertEquals(encryption.body?.algorithm, MEGOLM, "encrypted from the start");
    const invite = await state(server, token, roomId, `m.room.member/${bob.userId}`);
    assertEquals(invite.body?.membership, "invite");
    assertEquals(invite.body?.is_direct, true);
    const rules = await state(server, token, roomId, "m.room.join_rules");
    assertEquals(rules.body?.join_rule, "invite");
    // trusted_private_chat: the invitee has the creator's power (from room version 12 as an
    // additional creator, spec v1.16; before, at power level 100).
    const create = await state(server, token, roomId, "m.room.create");
    const levels = await state(server, token, roomId, "m.room.power_levels");
    if (create.body?.room_version === "12") {
      assertEquals(create.body?.additional_creators, [bob.userId], JSON.stringify(create.body));
    } else {
      assertEquals(levels.body?.users?.[bob.userId], 100, JSON.stringify(levels.body));
    }
    const accountData = `/_matrix/client/v3/user/${encodeURIComponent(anna.userId)}` +
      "/account_data/m.direct";
    const direct = await server.request("GET", accountData, { token });
    assertEquals(direct.body, { [bob.userId]: [roomId] });

    const sync = await server.request("GET", "/_matrix/client/v3/sync", {
      token: bob.accessToken,
    });
    assert(sync.body?.rooms?.invite?.[roomId], "Bob sees the invitation");

    // Asking again opens the same chat, whatever room was open.
    await page.goto(server.baseUrl);
    await page.getByRole("button", { name: "Start chat" }).click();
    await dialog.getByLabel("Search people").fill("Bob Builder");
    await dialog.getByRole("button", { name: "Bob Builder @bob:localhost" }).click();
    assertEquals(await openRoomId(page), roomId);
    const joined = await server.request("GET", "/_matrix/client/v3/joined_rooms", { token });
    assertEquals(joined.body?.joined_rooms, [roomId], "no second room was made");
    assertEquals(
      Object.keys(
        (await server.request("GET", "/_matrix/client/v3/sync", {
          token: bob.accessToken,
        })).body?.rooms?.invite ?? {},
      ),
      [roomId],
    );

    // A direct invitation is listed under its sender's name; accepting records it in m.direct.
    const carol = await person(server, "carol", "Carol Chaplin");
    const fromCarol = await server.request("POST", "/_matrix/client/v3/createRoom", {
      token: carol.accessToken,
      body: { preset: "trusted_private_chat", is_direct: true, invite: [anna.userId] },
    });
    assertEquals(fromCarol.status, 200);
    await list.getByRole("button", { name: "Accept the invitation to Carol Chaplin" }).click();
    await list.getByRole("link", { name: "Carol Chaplin" }).waitFor();
    const deadline = Date.now() + TIMEOUT;
    let recorded = await server.request("GET", accountData, { token });
    while (!recorded.body?.[carol.userId] && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      recorded = await server.request("GET", accountData, { token });
    }
    assertEquals(recorded.body, {
      [bob.userId]: [roomId],
      [carol.userId]: [fromCarol.body.room_id],
    });
  });
});

browserTest(
  "where the server leaves encryption to people, a group can be created unencrypted",
  async () => {
    await withApp(
      { timeoutMs: TIMEOUT, config: { e2ee: { default_for: "off" } } },
      async (page, server) => {
        const anna = await server.register("anna");
        const token = await signIn(page, server, anna);
        await page.getByRole("button", { name: "New group" }).click();
        const create = page.getByRole("dialog", { name: "New group" });
        await create.getByLabel("Group name").fill("Affichage public");
        const encrypted = create.getByLabel("End-to-end encrypted");
        assertEquals(await encrypted.isChecked(), true, "encrypted by default");
        assertEquals(await encrypted.isDisabled(), false);
        await encrypted.uncheck();
        await create.getByText("Messages are stored readable on the server.").waitFor();
        await create.getByRole("button", { name: "Create group" }).click();
        const roomId = await openRoomId(page);
        await page.getByRole("heading", { name: "Affichage public" }).waitFor();
        assertEquals((await state(server, token, roomId, "m.room.encryption")).status, 404);
      },
    );
  },
);

browserTest("create a group, rename it, change a role, remove a member, leave", async () => {
  await withApp({ timeoutMs: TIMEOUT }, async (page, server) => {
    const anna = await server.register("anna");
    const bob = await person(server, "bob", "Bob Builder");
    const token = await signIn(page, server, anna);

    await page.getByRole("button", { name: "New group" }).click();
    const create = page.getByRole("dialog", { name: "New group" });
    await create.getByLabel("Group name").fill("Conseil");
    await create.getByLabel("Topic (optional)").fill("Ordre du jour");
    assertEquals(await create.getByLabel("End-to-end encrypted").isChecked(), true);
    // This server encrypts every private group ([e2ee] default_for = "invite"): no choice.
    await create.getByText("This server encrypts every private group").waitFor();
    assertEquals(await create.getByLabel("End-to-end encrypted").isDisabled(), true);
    await create.getByLabel("Search people").fill("bob");
    await create.getByRole("button", { name: "Bob Builder @bob:localhost" }).click();
    await create.getByRole("button", { name: "Remove Bob Builder" }).waitFor();
    assertEquals(await violations(page), [], "the new-group dialog");
    await create.getByRole("button", { name: "Create group" }).click();

    const roomId = await openRoomId(page);
    await page.getByRole("heading", { name: "Conseil" }).waitFor();
    assertEquals((await state(server, token, roomId, "m.room.encryption")).body?.algorithm, MEGOLM);
    assertEquals((await state(server, token, roomId, "m.room.name")).body?.name, "Conseil");
    assertEquals((await state(server, token, roomId, "m.room.topic")).body?.topic, "Ordre du jour");
    const invited = await state(server, token, roomId, `m.room.member/${bob.userId}`);
    assertEquals(invited.body?.membership, "invite");
    assertEquals(invited.body?.is_direct, undefined);
    const joined = await server.request("POST", roomPath(roomId, "/join"), {
      token: bob.accessToken,
      body: {},
    });
    assertEquals(joined.status, 200);

    // Settings: name and topic show in the header.
    const settingsButton = page.getByRole("button", { name: "Room settings" });
    await settingsButton.click();
    const settings = page.getByRole("dialog", { name: "Settings of Conseil" });
    await settings.getByLabel("Room name").fill("Conseil communal");
    await settings.getByLabel("Topic").fill("Séance du lundi");
    await settings.getByRole("button", { name: "Save" }).click();
    await settings.getByText("Saved.").waitFor();
    await page.getByRole("heading", { name: "Conseil communal", exact: true }).waitFor();
    await page.getByText("Séance du lundi").first().waitFor();
    assertEquals(
      (await state(server, token, roomId, "m.room.topic")).body?.topic,
      "Séance du lundi",
    );

    // Bob becomes a moderator.
    const dialog = page.getByRole("dialog", { name: "Settings of Conseil communal" });
    const role = dialog.getByRole("combobox", { name: "Role of Bob Builder" });
    await role.selectOption("50");
    const deadline = Date.now() + TIMEOUT;
    let level: number | undefined;
    while (Date.now() < deadline) {
      level = (await state(server, token, roomId, "m.room.power_levels")).body?.users?.[bob.userId];
      if (level === 50) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assertEquals(level, 50);
    await until(
      page,
      `document.querySelector('[aria-label="Role of Bob Builder"]')?.selectedOptions[0]?.text === "Moderator"`,
    );
    assertEquals(await violations(page), [], "the room settings");

    // Removing asks first.
    await dialog.getByRole("button", { name: "Remove Bob Builder" }).click();
    const confirm = page.getByRole("dialog", { name: "Remove Bob Builder?" });
    await confirm.getByRole("button", { name: "Remove" }).click();
    await confirm.waitFor({ state: "detached" });
    await dialog.getByRole("combobox", { name: "Role of Bob Builder" }).waitFor({
      state: "detached",
    });
    assertEquals(
      (await state(server, token, roomId, `m.room.member/${bob.userId}`)).body?.membership,
      "leave",
    );

    // A picture: uploaded, set as m.room.avatar, shown from the server's thumbnail.
    await dialog.getByLabel("Room picture").setInputFiles({
      name: "blason.png",
      mimeType: "image/png",
      buffer: TINY_PNG,
    });
    await dialog.getByRole("button", { name: "Remove picture" }).waitFor();
    const avatar = await state(server, token, roomId, "m.room.avatar");
    assert(String(avatar.body?.url).startsWith("mxc://"), JSON.stringify(avatar.body));
    assertEquals(avatar.body?.info?.mimetype, "image/png");
    await until(page, `!!document.querySelector('[role="dialog"] img[src^="blob:"]')`);

    // Escape closes the settings; focus returns to the button that opened them.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await until(page, `document.activeElement?.getAttribute("aria-label") === "Room settings"`);

    // Invited again from the header.
    await page.getByRole("button", { name: "Invite people" }).click();
    const invite = page.getByRole("dialog", { name: "Invite people to Conseil communal" });
    await invite.getByLabel("Search people").fill("Bob");
    await invite.getByRole("button", { name: "Bob Builder @bob:localhost" }).click();
    await invite.getByRole("button", { name: "Send invitations" }).click();
    await invite.waitFor({ state: "detached" });
    assertEquals(
      (await state(server, token, roomId, `m.room.member/${bob.userId}`)).body?.membership,
      "invite",
    );

    await page.getByRole("button", { name: "Leave room" }).click();
    const leave = page.getByRole("dialog", { name: "Leave Conseil communal?" });
    await leave.getByRole("button", { name: "Leave", exact: true }).click();
    await page.waitForURL(`${server.baseUrl}/`);
    const list = page.getByRole("navigation", { name: "Conversation list" });
    await list.getByRole("link", { name: "Conseil communal" }).waitFor({ state: "detached" });
    const after = await server.request("GET", "/_matrix/client/v3/joined_rooms", { token });
    assertEquals(after.body?.joined_rooms, []);
  });
});

browserTest("a member without power sees why; on a phone the actions are a menu", async () => {
  await withApp(
    {
      timeoutMs: TIMEOUT,
      config: { e2ee: { default_for: "off" } },
      browser: { viewport: { width: 360, height: 720 } },
    },
    async (page, server) => {
      const anna = await server.register("anna");
      const bob = await person(server, "bob", "Bob Builder");
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { name: "Mairie", preset: "private_chat", invite: [anna.userId] },
      });
      assertEquals(created.status, 200);
      const roomId = created.body.room_id;
      await server.request("POST", roomPath(roomId, "/join"), {
        token: anna.accessToken,
        body: {},
      });
      await signIn(page, server, anna);
      await page.evaluate(`localStorage.setItem("gemeng.theme", "dark")`);
      await page.reload();
      await clickThrough(
        page.getByRole("link", { name: "Mairie" }),
        page.getByRole("heading", { name: "Mairie" }),
      );

      assertEquals(await page.getByRole("button", { name: "Room settings" }).count(), 0);
      const menuButton = page.getByRole("button", { name: "Room options" });
      await menuButton.click();
      const menu = page.getByRole("menu", { name: "Room options" });
      assertEquals(
        await menu.getByRole("menuitem").allTextContents(),
        ["Search in this conversation", "Files", "Room settings", "Invite people", "Leave room"],
      );
      await page.keyboard.press("Escape");
      await menu.waitFor({ state: "detached" });
      await menuButton.click();
      await menu.getByRole("menuitem", { name: "Room settings" }).click();

      const dialog = page.getByRole("dialog", { name: "Settings of Mairie" });
      await dialog.waitFor();
      assertEquals(await dialog.getByLabel("Room name").isDisabled(), true);
      assertEquals(await dialog.getByLabel("Topic").isDisabled(), true);
      await dialog.getByText("Your role in this room does not allow changing this.").first()
        .waitFor();
      await dialog.getByRole("button", { name: "Turn on encryption" }).waitFor();
      assertEquals(
        await dialog.getByRole("button", { name: "Turn on encryption" }).isDisabled(),
        true,
      );
      const bobRole = dialog.getByRole("combobox", { name: "Role of Bob Builder" });
      await bobRole.waitFor();
      assertEquals(await bobRole.isDisabled(), true);
      assertEquals(await dialog.getByRole("button", { name: "Remove Bob Builder" }).count(), 0);
      await dialog.getByText("Your role: Member.").waitFor();
      assertEquals(await violations(page), [], "settings at 360 px, dark");
      await dialog.getByRole("button", { name: "Close" }).click();
      await dialog.waitFor({ state: "detached" });
      // Focus returns to the menu button.
      await until(page, `document.activeElement?.getAttribute("aria-label") === "Room options"`);
    },
  );
});

/** Records every notification the page shows (and keeps them, to click one). */
const RECORD_NOTIFICATIONS = `
  (() => {
    const Real = window.Notification;
    if (!Real) return;
    window.__notifications = [];
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.__notifications.push({ title, body: options?.body ?? "", notification: this });
      }
    };
  })();
`;

browserTest(
  "desktop notifications for messages in rooms not on screen; unread in the title",
  async () => {
    await withApp(
      {
        timeoutMs: TIMEOUT,
        config: { e2ee: { default_for: "off" } },
        browser: { permissions: ["notifications"] },
        init: RECORD_NOTIFICATIONS,
      },
      async (page, server) => {
        const anna = await server.register("anna");
        const bob = await person(server, "bob", "Bob Builder");
        const rooms: Record<string, string> = {};
        for (const name of ["Conseil", "Bibliothèque"]) {
          const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
            token: bob.accessToken,
            body: { name, preset: "private_chat", invite: [anna.userId] },
          });
          assertEquals(created.status, 200);
          rooms[name] = created.body.room_id;
          await server.request("POST", roomPath(rooms[name], "/join"), {
            token: anna.accessToken,
            body: {},
          });
        }
        await signIn(page, server, anna);
        await page.getByRole("link", { name: "Settings" }).click();
        const toggle = page.getByRole("switch", { name: "Desktop notifications for new messages" });
        await toggle.check();
        await page.getByText("On: new messages show a notification").waitFor();
        assertEquals(await page.evaluate(`localStorage.getItem("gemeng.notifications")`), "on");
        await page.getByRole("link", { name: "Back to conversations" }).click();
        await clickThrough(
          page.getByRole("link", { name: "Bibliothèque" }),
          page.getByRole("heading", { name: "Bibliothèque" }),
        );
        await until(page, `document.title === "gemeng"`);

        let txn = 0;
        const send = async (roomId: string, content: Record<string, unknown>) => {
          const sent = await server.request(
            "PUT",
            roomPath(roomId, `/send/m.room.message/t${++txn}`),
            { token: bob.accessToken, body: content },
          );
          assertEquals(sent.status, 200);
        };
        await send(rooms["Conseil"], { msgtype: "m.text", body: "Moien Anna!" });
        await until(page, `window.__notifications.length === 1`);
        assertEquals(
          await page.evaluate(`window.__notifications.map((n) => [n.title, n.body])`),
          [["Conseil", "Bob Builder: Moien Anna!"]],
        );
        await until(page, `document.title === "(1) gemeng"`);

        await send(rooms["Conseil"], { msgtype: "m.file", body: "budget.pdf", url: "mxc://x/y" });
        await until(page, `window.__notifications.length === 2`);
        assertEquals(
          await page.evaluate(`window.__notifications[1].body`),
          "Bob Builder sent a file",
        );

        // The room on screen does not notify while the window has focus.
        assertEquals(await page.evaluate<boolean>(`document.hasFocus()`), true);
        await send(rooms["Bibliothèque"], { msgtype: "m.text", body: "Here" });
        await send(rooms["Conseil"], { msgtype: "m.text", body: "And there" });
        await until(page, `window.__notifications.length >= 3`);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const bodies = await page.evaluate<string[]>(`window.__notifications.map((n) => n.body)`);
        assertEquals(bodies.slice(2), ["Bob Builder: And there"]);

        // Own messages never notify.
        const own = await server.request(
          "PUT",
          roomPath(rooms["Conseil"], "/send/m.room.message/own1"),
          {
            token: anna.accessToken,
            body: { msgtype: "m.text", body: "Mine" },
          },
        );
        assertEquals(own.status, 200);

        // Clicking a notification opens its room.
        await page.evaluate(`window.__notifications[0].notification.onclick()`);
        await page.getByRole("heading", { name: "Conseil" }).waitFor();
        assertEquals(await openRoomId(page), rooms["Conseil"]);
        const after = await page.evaluate<string[]>(`window.__notifications.map((n) => n.body)`);
        assert(!after.some((body) => body.includes("Mine")), "own messages do not notify");

        // Turned off, nothing more shows.
        await page.getByRole("link", { name: "Settings" }).click();
        await toggle.uncheck();
        await page.getByText("Off.", { exact: true }).waitFor();
        const count = after.length;
        const unreadBefore = await page.evaluate<string>(`document.title`);
        await send(rooms["Bibliothèque"], { msgtype: "m.text", body: "Silence" });
        // The message has arrived once the unread count in the title moves.
        await until(page, `document.title !== ${JSON.stringify(unreadBefore)}`);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assertEquals(await page.evaluate(`window.__notifications.length`), count);
      },
    );
  },
);

browserTest("an encrypted message notifies with its decrypted text", async () => {
  await withApp(
    { timeoutMs: TIMEOUT, browser: { permissions: ["notifications"] }, init: RECORD_NOTIFICATIONS },
    async (page, server) => {
      const anna = await server.register("anna");
      const bob = await person(server, "bob", "Bob Builder");
      // Bob is a matrix-js-sdk client with Rust crypto, syncing in this process.
      const bobClient = await sdkClient(server, bob);
      try {
        await startSyncing(bobClient, { initialSyncLimit: 10 });
        await flushCrypto(bobClient);

        await signIn(page, server, anna);
        await page.getByRole("link", { name: "Settings" }).click();
        await page.getByRole("switch", { name: "Desktop notifications for new messages" })
          .check();
        await page.getByRole("link", { name: "Back to conversations" }).click();
        await page.getByRole("button", { name: "Start chat" }).click();
        const dialog = page.getByRole("dialog", { name: "Start a chat" });
        await dialog.getByLabel("Search people").fill("bob");
        await dialog.getByRole("button", { name: "Bob Builder @bob:localhost" }).click();
        const roomId = await openRoomId(page);
        // Away from the chat, so its messages notify.
        await clickThrough(
          page.getByRole("link", { name: "Settings" }),
          page.getByRole("heading", { name: "Settings" }),
        );

        const deadline = Date.now() + TIMEOUT;
        while (bobClient.getRoom(roomId)?.getMyMembership() !== "invite") {
          if (Date.now() > deadline) throw new Error("Bob got no invitation");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await bobClient.joinRoom(roomId);
        while (!await bobClient.getCrypto()?.isEncryptionEnabledInRoom(roomId)) {
          if (Date.now() > deadline) throw new Error("Bob's room is not encrypted");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await bobClient.sendTextMessage(roomId, "Geheim: the budget is ready");
        const stored = await server.request(
          "GET",
          roomPath(roomId, "/messages?dir=b&limit=5"),
          { token: bob.accessToken },
        );
        assert(
          stored.body.chunk.some((e: { type: string }) => e.type === "m.room.encrypted"),
          "the message travelled encrypted",
        );
        await until(page, `window.__notifications.length >= 1`);
        assertEquals(
          await page.evaluate(`window.__notifications.map((n) => [n.title, n.body])`),
          [["Bob Builder", "Bob Builder: Geheim: the budget is ready"]],
        );
      } finally {
        stopAll(bobClient);
      }
    },
  );
});
