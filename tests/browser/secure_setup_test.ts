/**
 * Secure messaging as part of the first sign-in, and the marks on messages, in headless Chromium
 * against one real server shared by the steps (Rust crypto of matrix-js-sdk in the browser and,
 * for bob and alice's phone, in Deno):
 *
 * 1. a new account gets the set-up prompt on the conversations screen: one click, the recovery
 *    key shown once (downloaded, copied, confirmed saved), and the account has cross-signing and
 *    a key backup;
 * 2. no mark on her own messages or on bob's (bob has not been verified, which is normal);
 * 3. after she asks to be warned about unverified people, bob's message is marked, its details
 *    say which device and offer to verify bob or to stop the warning;
 * 4. a second sign-in (a new device) is asked to verify; "Not now" leaves a reminder; the
 *    recovery key verifies the device, the backed-up keys come back and the old message reads;
 *    the first device is signed out (password asked) and this one renamed;
 * 5. a message from an unverified device of a verified user (alice's phone, never verified) is
 *    marked red, with the device named and a way to verify it;
 * 6. a recovery key shown but never confirmed as saved (the page reloaded) is replaced by a new
 *    one from the prompt.
 */

import type * as sdk from "matrix-js-sdk";
import { startTestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { stopAll } from "../integration/e2ee_sdk_support.ts";
import {
  assertAccessible,
  bounded,
  browserTest,
  openSettings,
  openTab,
  securityStatus,
  syncingClient,
  type Tab,
  until,
  WAITING_FOR_KEY,
} from "./security_support.ts";
import { signIn } from "./session_support.ts";

const OLD_MESSAGE = "Moien Alice, dat hei ass geheim.";
const OWN_MESSAGE = "Moien Bob, alles kloer.";
const PHONE_MESSAGE = "Vum Handy geschéckt.";
const WARN = "Warn me about messages from people I have not verified";

browserTest(
  "first sign-in sets up secure messaging; marks only where they mean something",
  async (t) => {
    const server = await startTestServer();
    const tabs: Tab[] = [];
    const clients: sdk.MatrixClient[] = [];
    try {
      const alice = await server.register("alice");
      const bob = await server.register("bob");
      const room = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: bob.accessToken,
        body: { name: "Bureau", preset: "private_chat", invite: [alice.userId] },
      });
      assertEquals(room.status, 200, JSON.stringify(room.body));
      const roomId: string = room.body.room_id;
      const joined = await server.request(
        "POST",
        `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
        { token: alice.accessToken, body: {} },
      );
      assertEquals(joined.status, 200);
      const bobClient = await syncingClient(server, bob);
      clients.push(bobClient);

      const first = await openTab("alice-1", { clipboard: true });
      tabs.push(first);
      let recoveryKey = "";
      let firstDevice = "";

      await t.step("a new account is offered secure messaging at first sign-in", async () => {
        const { page } = first;
        await signIn(page, server, alice);
        const card = page.getByRole("complementary", { name: "Keep your messages safe" });
        await card.getByText(/^Your conversations are encrypted/).waitFor();
        await assertAccessible(page, "the set-up prompt");
        await card.getByRole("button", { name: "Set up secure messaging" }).click();
        // The first cross-signing keys need no password on this server: none is asked.
        const dialog = page.getByRole("dialog", { name: "Your recovery key" });
        const field = dialog.getByRole("textbox", { name: "Recovery key" });
        await field.waitFor();
        recoveryKey = await field.inputValue();
        assert(/^(\w{4} ){10,}\w{1,4}$/.test(recoveryKey), `a recovery key: ${recoveryKey}`);
        await assertAccessible(page, "the recovery key dialog");
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          dialog.getByRole("button", { name: "Download" }).click(),
        ]);
        const saved = await Deno.readTextFile(await download.path());
        assert(saved.includes(recoveryKey), `the file holds the key: ${saved}`);
        await dialog.getByRole("button", { name: "Copy recovery key" }).click();
        await dialog.getByText("Copied.").waitFor();
        const copied = await bounded(page.evaluate("navigator.clipboard.readText()"), "clipboard");
        assertEquals(copied, recoveryKey);
        await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
        await dialog.waitFor({ state: "detached" });
        const done = page.getByRole("complementary", { name: "Secure messaging" });
        await done.getByText("Secure messaging is set up. Keep your recovery key safe.").waitFor();
        await done.getByRole("button", { name: "Close" }).click();
        await done.waitFor({ state: "detached" });
        // The account has cross-signing keys and a key backup on the server.
        const keys = await server.request("POST", "/_matrix/client/v3/keys/query", {
          token: alice.accessToken,
          body: { device_keys: { [alice.userId]: [] } },
        });
        assert(keys.body.master_keys?.[alice.userId], "a master key");
        const backup = await server.request("GET", "/_matrix/client/v3/room_keys/version", {
          token: alice.accessToken,
        });
        assertEquals(backup.status, 200, "a key backup");
        firstDevice = JSON.parse(
          await page.evaluate<string>(`localStorage.getItem("gemeng.session")`),
        ).deviceId as string;
      });

      const timeline = first.page.getByRole("log");
      const marks = () => first.page.locator("[data-shield]").count();

      await t.step("no mark on her own messages nor on bob's", async () => {
        const { page } = first;
        await until("bob's client to see alice joined", () =>
          Promise.resolve(
            bobClient.getRoom(roomId)?.getMember(alice.userId)?.membership === "join" &&
              bobClient.getRoom(roomId)?.hasEncryptionStateEvent(),
          ));
        await bobClient.sendTextMessage(roomId, OLD_MESSAGE);
        await page.getByRole("link", { name: "Bureau" }).click();
        await timeline.getByText(OLD_MESSAGE).first().waitFor();
        await page.getByRole("textbox", { name: "Message" }).fill(OWN_MESSAGE);
        await page.getByRole("button", { name: "Send message" }).click();
        await until("bob to read alice's message", () =>
          Promise.resolve(
            bobClient.getRoom(roomId)?.getLiveTimeline().getEvents().some((event) =>
              event.getContent().body === OWN_MESSAGE
            ),
          ));
        // The marks are worked out as the messages show; give them time to appear if they would.
        for (let i = 0; i < 10; i++) {
          assertEquals(await marks(), 0, "no marks on normal messages");
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      });

      await t.step(
        "asked to, the app warns about bob, says which device, and offers a way out",
        async () => {
          const { page } = first;
          await openSettings(page);
          await page.getByRole("checkbox", { name: WARN }).check();
          await page.getByRole("link", { name: "Back to conversations" }).click();
          await page.getByRole("link", { name: "Bureau" }).click();
          // Bob never set up cross-signing: his device is not verified by him.
          const mark = timeline.getByRole("button", { name: "Sent from an unverified device" });
          await mark.click();
          const details = page.getByRole("group", { name: "Encryption details" });
          await details.getByText(/sent this from a device they have not verified/).waitFor();
          await details.getByText(`Device: ${bobClient.getDeviceId()}`).waitFor();
          await details.getByRole("button", { name: `Verify ${bob.userId}` }).waitFor();
          await assertAccessible(page, "the details of a mark");
          await details.getByRole("button", { name: "Stop warning about unverified people" })
            .click();
          await mark.waitFor({ state: "detached" });
          assertEquals(await marks(), 0);
          const setting = await server.request(
            "GET",
            `/_matrix/client/v3/user/${
              encodeURIComponent(alice.userId)
            }/account_data/lu.gemeng.security`,
            { token: alice.accessToken },
          );
          assertEquals(setting.body.warn_unverified_senders, false);
        },
      );

      const second = await openTab("alice-2");
      tabs.push(second);

      await t.step(
        "a new device verifies with the recovery key and reads the history",
        async () => {
          await until("both room keys (bob's and her own) in alice's backup", async () => {
            const res = await server.request("GET", "/_matrix/client/v3/room_keys/version", {
              token: alice.accessToken,
            });
            return res.status === 200 && res.body.count >= 2;
          });
          // The first device is gone before the second one asks, so only the backup can help.
          await first.page.close();
          const { page } = second;
          await signIn(page, server, alice);
          const card = page.getByRole("complementary", { name: "Verify this device" });
          await card.getByRole("button", { name: "Verify with another device" }).waitFor();
          await card.getByRole("button", { name: "Not now" }).click();
          const reminder = page.getByRole("complementary", {
            name: /^This device is not verified yet/,
          });
          await reminder.waitFor();
          await assertAccessible(page, "the reminder");
          // The reminder stays after a reload.
          await page.reload();
          await reminder.waitFor();
          await page.getByRole("link", { name: "Bureau" }).click();
          const locked = page.getByRole("button", { name: WAITING_FOR_KEY }).first();
          await locked.click();
          await page.getByRole("group", { name: "Encryption details" })
            .getByRole("button", { name: "Open Settings" }).waitFor();
          await locked.click();
          await reminder.getByRole("button", { name: "Verify this device" }).click();
          await card.getByRole("button", { name: "Use recovery key" }).click();
          const dialog = page.getByRole("dialog", { name: "Use your recovery key" });
          const field = dialog.getByRole("textbox", { name: "Recovery key" });
          // A key with a typo is refused before anything changes.
          await field.fill(recoveryKey.slice(0, -1) + (recoveryKey.endsWith("a") ? "b" : "a"));
          await dialog.getByRole("button", { name: "Continue" }).click();
          await dialog.getByText("This is not a valid recovery key. Check it and try again.")
            .waitFor();
          await assertAccessible(page, "the recovery key form with a problem");
          await field.fill(recoveryKey);
          await dialog.getByRole("button", { name: "Continue" }).click();
          await dialog.waitFor({ state: "detached" });
          const done = page.getByRole("complementary", { name: "Secure messaging" });
          const restored = await done.getByText(/message keys? (was|were) restored/).textContent();
          assert(restored?.startsWith("This device is verified."), `${restored}`);
          const count = Number(/(\d+) message key/.exec(restored ?? "")?.[1]);
          assert(count >= 1, `restored keys: ${restored}`);
          await page.getByRole("link", { name: "Bureau" }).click();
          await page.getByRole("log").getByText(OLD_MESSAGE).first().waitFor();
          await page.getByRole("button", { name: WAITING_FOR_KEY }).waitFor({ state: "detached" });

          // In the settings: verified, and the first device can be signed out (password asked).
          await openSettings(page);
          const status = securityStatus(page);
          await status.getByText("Cross-signing is ready.").waitFor();
          await status.getByText("This device is verified.", { exact: true }).waitFor();
          await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();
          const devices = page.getByRole("region", { name: "Your devices" });
          const firstRow = devices.locator(`li[data-device-id="${firstDevice}"]`);
          await firstRow.getByText("Verified", { exact: true }).waitFor();
          await firstRow.getByRole("button", { name: "Sign out device" }).click();
          const ask = page.getByRole("dialog", { name: "Confirm it is you" });
          await ask.getByLabel("Password").fill("not the password");
          await ask.getByRole("button", { name: "Continue" }).click();
          await ask.getByText("That password is not correct.").waitFor();
          await assertAccessible(page, "the password dialog");
          await ask.getByLabel("Password").fill(alice.password);
          await ask.getByRole("button", { name: "Continue" }).click();
          await firstRow.waitFor({ state: "detached" });
          const own = devices.locator("li").first();
          await own.getByRole("button", { name: "Rename" }).click();
          await own.getByLabel("Device name").fill("Laptop am Büro");
          await own.getByRole("button", { name: "Save" }).click();
          await devices.getByRole("listitem", { name: "Laptop am Büro" }).getByText("This device")
            .waitFor();
          await page.getByRole("link", { name: "Back to conversations" }).click();
        },
      );

      await t.step("a verified user's unverified device is marked, and named", async () => {
        const phone: TestUser = await server.login("alice", alice.password);
        const phoneClient = await syncingClient(server, phone);
        clients.push(phoneClient);
        await until(
          "the phone to see the room",
          () => Promise.resolve(phoneClient.getRoom(roomId)?.hasEncryptionStateEvent()),
        );
        await phoneClient.sendTextMessage(roomId, PHONE_MESSAGE);
        const { page } = second;
        await page.getByRole("link", { name: "Bureau" }).click();
        const message = page.getByRole("log").getByRole("article").filter({
          hasText: PHONE_MESSAGE,
        });
        const mark = message.getByRole("button", { name: "Sent from an unverified device" });
        await mark.click();
        const details = page.getByRole("group", { name: "Encryption details" });
        await details.getByText(/^You sent this from one of your devices that is not verified/)
          .waitFor();
        await details.getByText(`Device: ${phone.deviceId}`).waitFor();
        await details.getByRole("button", { name: "Verify that device" }).waitFor();
        // Bob's message, from someone she has not verified, is not marked for it (only, in
        // grey, as restored from the backup, which this device cannot check the sender of).
        const bobs = page.getByRole("log").getByRole("article").filter({ hasText: OLD_MESSAGE });
        const bobsMarks = await bobs.locator("[data-shield]").evaluateAll((marks) =>
          marks.map((mark) => mark.getAttribute("data-shield"))
        );
        assert(bobsMarks.every((kind) => kind === "authenticity"), `${bobsMarks}`);
      });
      await t.step(
        "a recovery key never confirmed as saved is made anew after a reload",
        async () => {
          const carol = await server.register("carol");
          const tab = await openTab("carol");
          tabs.push(tab);
          const { page } = tab;
          await signIn(page, server, carol);
          const prompt = page.getByRole("complementary", { name: "Keep your messages safe" });
          await prompt.getByRole("button", { name: "Set up secure messaging" }).click();
          const dialog = page.getByRole("dialog", { name: "Your recovery key" });
          const field = dialog.getByRole("textbox", { name: "Recovery key" });
          const firstKey = await field.inputValue();
          // Escape only hides the key; the card offers it again while the page is open.
          await page.keyboard.press("Escape");
          await page.getByRole("button", { name: "Show the recovery key again" }).waitFor();
          const defaultKey = async () =>
            (await server.request(
              "GET",
              `/_matrix/client/v3/user/${
                encodeURIComponent(carol.userId)
              }/account_data/m.secret_storage.default_key`,
              { token: carol.accessToken },
            )).body.key;
          const firstKeyId = await defaultKey();
          assert(firstKeyId, "a secret-storage key on the server");
          // Closed without confirming: the key cannot be shown again, so a new one is offered.
          await page.reload();
          const unsaved = page.getByRole("complementary", { name: "Save your recovery key" });
          await unsaved.getByRole("button", { name: "Make a new recovery key" }).click();
          const secondKey = await field.inputValue();
          assert(secondKey !== firstKey && /^(\w{4} ){10,}\w{1,4}$/.test(secondKey), secondKey);
          await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
          await page.getByRole("complementary", { name: "Secure messaging" })
            .getByText("Secure messaging is set up. Keep your recovery key safe.").waitFor();
          assert((await defaultKey()) !== firstKeyId, "the account's recovery key was replaced");
          await page.reload();
          await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
          await page.waitForTimeout(1500);
          assertEquals(await page.getByRole("complementary").count(), 0, "nothing more to offer");
        },
      );
      assertEquals(
        tabs.flatMap((tab) => tab.errors),
        [],
        "no page errors or CSP violations",
      );
    } finally {
      stopAll(...clients);
      await Promise.all(tabs.map((tab) => tab.browser.close()));
      await server.close();
    }
  },
);
