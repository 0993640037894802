/**
 * Secure messaging in the web app, in headless Chromium against a real server with the Rust
 * crypto of matrix-js-sdk on both ends:
 *
 * 1. alice sets up secure messaging in the settings and gets a recovery key; an encrypted message
 *    reaches her; on a second browser (a new device) the message is locked until she restores
 *    with the recovery key: this device becomes verified, the old message's key comes back from
 *    the server-side backup and the message reads; then she signs the first device out
 *    (password asked, a wrong one refused) and renames this one.
 * 2. alice and bob, each in their own browser, verify each other with emoji: alice starts from
 *    the "Sender not verified" mark on bob's message, bob accepts in the overlay, both see the
 *    same seven emoji, both confirm, each one's master key ends up signed by the other, and the
 *    mark goes away.
 * 3. a new device is verified by another device of the account (declined once, then started
 *    from the device list), and receives the cross-signing and backup secrets.
 */

import * as sdk from "matrix-js-sdk";
import type { Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { sdkClient, stopAll } from "../integration/e2ee_sdk_support.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";

/** The Rust crypto's WASM starts slowly in Chromium on a busy machine. */
const TIMEOUT = 45_000;

function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: `web security: ${name}`,
    ignore: SKIP_REASON !== null,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

interface Tab {
  browser: BrowserSession;
  page: Page;
  errors: string[];
}

async function openTab(label: string, options: { clipboard?: boolean } = {}): Promise<Tab> {
  const browser = await launchBrowser({
    permissions: options.clipboard ? ["clipboard-read", "clipboard-write"] : [],
  });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`${label}: ${err.message}`));
  page.on("console", (msg) => {
    if (Deno.env.get("GEMENG_BROWSER_LOG")) console.log(`[${label} ${msg.type()}] ${msg.text()}`);
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
      errors.push(`${label}: ${msg.text()}`);
    }
  });
  return { browser, page, errors };
}

async function signIn(server: TestServer, page: Page, user: TestUser): Promise<void> {
  await page.goto(server.baseUrl);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Username").fill(user.userId.slice(1).split(":")[0]);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

async function openSettings(page: Page): Promise<void> {
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
}

/** Sets up secure messaging in the settings; returns the recovery key shown. */
async function setUpSecureMessaging(
  page: Page,
  options: { copy?: boolean; checkAccessibility?: boolean } = {},
) {
  await page.getByRole("button", { name: "Set up secure messaging" }).click();
  const dialog = page.getByRole("dialog", { name: "Your recovery key" });
  const field = dialog.getByRole("textbox", { name: "Recovery key" });
  await field.waitFor();
  const recoveryKey = await field.inputValue();
  assert(/^(\w{4} ){10,}\w{1,4}$/.test(recoveryKey), `a recovery key: ${recoveryKey}`);
  if (options.checkAccessibility) await assertAccessible(page, "the recovery key dialog");
  if (options.copy) {
    await dialog.getByRole("button", { name: "Copy recovery key" }).click();
    await dialog.getByText("Copied.").waitFor();
    const copied = await bounded(page.evaluate("navigator.clipboard.readText()"), "clipboard");
    assertEquals(copied, recoveryKey);
  }
  await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
  await dialog.waitFor({ state: "detached" });
  const status = securityStatus(page);
  await status.getByText("Cross-signing is ready.").waitFor();
  await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();
  await status.getByText("This device is verified.", { exact: true }).waitFor();
  return recoveryKey;
}

function securityStatus(page: Page) {
  return page.getByRole("region", { name: "Secure messaging" }).getByRole("status");
}

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** `promise`, or an error naming `what` after the test timeout (page.evaluate has none). */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), TIMEOUT);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** Fails on axe-core's WCAG 2.1 A/AA violations on the page (`where` names the screen). */
async function assertAccessible(page: Page, where: string): Promise<void> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) still holds.
  await page.evaluate(AXE_SOURCE);
  const found = await bounded(
    page.evaluate<string[]>(
      `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.flatMap((v) => v.nodes.map((n) => v.id + ": " + n.target.join(" "))))`,
    ),
    `axe on ${where}`,
  );
  assertEquals(found, [], `accessibility of ${where}`);
}

const WAITING_FOR_KEY = "Waiting for the key to decrypt this message";

/** A matrix-js-sdk client with Rust crypto that syncs (bob's phone, in Deno). */
async function syncingClient(server: TestServer, user: TestUser): Promise<sdk.MatrixClient> {
  const client = await sdkClient(server, user);
  const prepared = new Promise<void>((resolve) => {
    const onSync = (state: string) => {
      if (state !== "PREPARED") return;
      client.off(sdk.ClientEvent.Sync, onSync);
      resolve();
    };
    client.on(sdk.ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 10 });
  await prepared;
  return client;
}

browserTest(
  "set up secure messaging; a new device restores old keys with the recovery key",
  async () => {
    const server = await startTestServer();
    const tabs: Tab[] = [];
    const clients: sdk.MatrixClient[] = [];
    try {
      const alice = await server.register("alice");
      const bob = await server.register("bob");
      const first = await openTab("alice-1", { clipboard: true });
      tabs.push(first);
      await signIn(server, first.page, alice);
      await openSettings(first.page);
      await first.page.getByRole("button", { name: "Set up secure messaging" }).waitFor();
      await assertAccessible(first.page, "the security settings before set-up");
      const recoveryKey = await setUpSecureMessaging(first.page, {
        copy: true,
        checkAccessibility: true,
      });
      const firstDevice = JSON.parse(
        await first.page.evaluate<string>(`localStorage.getItem("gemeng.session")`),
      ).deviceId as string;

      // Bob (in Deno) writes in an encrypted room with alice; her first device gets the key
      // and backs it up on the server.
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
      await until("bob's client to see alice joined", () =>
        Promise.resolve(
          bobClient.getRoom(roomId)?.getMember(alice.userId)?.membership === "join" &&
            bobClient.getRoom(roomId)?.hasEncryptionStateEvent(),
        ));
      await bobClient.sendTextMessage(roomId, "Moien Alice, dat hei ass geheim.");
      await until("the room key in alice's backup", async () => {
        const res = await server.request("GET", "/_matrix/client/v3/room_keys/version", {
          token: alice.accessToken,
        });
        return res.status === 200 && res.body.count >= 1;
      });
      // The first device is gone before the second one asks, so only the backup can help.
      await first.page.close();

      const second = await openTab("alice-2");
      tabs.push(second);
      await signIn(server, second.page, alice);
      // The conversations screen says this device still has to be verified, and leads there.
      const notice = second.page.getByRole("complementary", { name: "Verify this device" });
      await notice.getByText(/^This device is not verified yet/).waitFor();
      await assertAccessible(second.page, "the conversations screen with the notice");
      // The old message is still locked here, and says so.
      await second.page.getByRole("link", { name: "Bureau" }).click();
      await second.page.getByRole("button", { name: WAITING_FOR_KEY }).first().waitFor();
      await notice.getByRole("link", { name: "Verify this device" }).click();
      await second.page.getByRole("heading", { name: "Settings" }).waitFor();
      const status = securityStatus(second.page);
      await status.getByText(
        "Cross-signing is set up on your account, but this device does not hold its keys yet.",
      ).waitFor();
      await status.getByText("This device is not verified.").waitFor();
      await second.page.getByRole("button", { name: "Verify with another device" }).waitFor();
      await second.page.getByRole("button", { name: "Use recovery key" }).click();
      const dialog = second.page.getByRole("dialog", { name: "Use your recovery key" });
      const field = dialog.getByRole("textbox", { name: "Recovery key" });
      // A key with a typo is refused before anything changes.
      await field.fill(recoveryKey.slice(0, -1) + (recoveryKey.endsWith("a") ? "b" : "a"));
      await dialog.getByRole("button", { name: "Continue" }).click();
      await dialog.getByText("This is not a valid recovery key. Check it and try again.").waitFor();
      await assertAccessible(second.page, "the recovery key form with a problem");
      await field.fill(recoveryKey);
      await dialog.getByRole("button", { name: "Continue" }).click();
      await dialog.waitFor({ state: "detached" });
      const restored = await status.getByText(/message keys? (was|were) restored/).textContent();
      const count = Number(/(\d+) message key/.exec(restored ?? "")?.[1]);
      assert(count >= 1, `restored keys: ${restored}`);
      await status.getByText("Cross-signing is ready.").waitFor();
      await status.getByText("This device is verified.", { exact: true }).waitFor();
      await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();

      // Back in the conversation, the old message reads, its mark gone.
      await second.page.getByRole("link", { name: "Back to conversations" }).click();
      await second.page.getByRole("link", { name: "Bureau" }).click();
      await second.page.getByText("Moien Alice, dat hei ass geheim.").first().waitFor();
      await second.page.getByRole("button", { name: WAITING_FOR_KEY }).waitFor({
        state: "detached",
      });
      await openSettings(second.page);

      // The device list: this one first, the first device verified (cross-signed by it).
      const devices = second.page.getByRole("region", { name: "Your devices" });
      const firstRow = devices.locator(`li[data-device-id="${firstDevice}"]`);
      await firstRow.getByText("Verified", { exact: true }).waitFor();
      await devices.locator("li").first().getByText("This device").waitFor();

      // Signing the first device out asks for the password; a wrong one is refused.
      await firstRow.getByRole("button", { name: "Sign out device" }).click();
      const ask = second.page.getByRole("dialog", { name: "Confirm it is you" });
      await ask.getByLabel("Password").fill("not the password");
      await ask.getByRole("button", { name: "Continue" }).click();
      await ask.getByText("That password is not correct.").waitFor();
      await assertAccessible(second.page, "the password dialog");
      await ask.getByLabel("Password").fill(alice.password);
      await ask.getByRole("button", { name: "Continue" }).click();
      await firstRow.waitFor({ state: "detached" });
      const listed = await server.request("GET", "/_matrix/client/v3/devices", {
        token: alice.accessToken,
      });
      assert(
        !listed.body.devices.some((d: { device_id: string }) => d.device_id === firstDevice),
        "the first device is signed out on the server",
      );

      // Renaming this device.
      const own = devices.locator("li").first();
      await own.getByRole("button", { name: "Rename" }).click();
      await own.getByLabel("Device name").fill("Laptop am Büro");
      await own.getByRole("button", { name: "Save" }).click();
      await devices.getByRole("listitem", { name: "Laptop am Büro" }).getByText("This device")
        .waitFor();
      const renamed = await server.request("GET", "/_matrix/client/v3/devices", {
        token: alice.accessToken,
      });
      assert(
        renamed.body.devices.some((d: { display_name?: string }) =>
          d.display_name === "Laptop am Büro"
        ),
        JSON.stringify(renamed.body),
      );
      assertEquals(tabs.flatMap((t) => t.errors), [], "no page errors or CSP violations");
    } finally {
      stopAll(...clients);
      await Promise.all(tabs.map((t) => t.browser.close()));
      await server.close();
    }
  },
);

/** The emoji and names a page shows for comparison. */
async function shownEmoji(page: Page): Promise<string[]> {
  const list = page.getByRole("dialog", { name: "Verification" })
    .getByRole("list", { name: "Emoji to compare" });
  await list.waitFor();
  const items = list.getByRole("listitem");
  const texts: string[] = [];
  for (let i = 0; i < await items.count(); i++) {
    const item = items.nth(i);
    texts.push(`${await item.getAttribute("data-sas-emoji")} ${await item.textContent()}`);
  }
  return texts;
}

/** The signatures on `target`'s master key, as `viewer` gets them from the server. */
async function masterKeySigners(server: TestServer, viewer: TestUser, target: TestUser) {
  const res = await server.request("POST", "/_matrix/client/v3/keys/query", {
    token: viewer.accessToken,
    body: { device_keys: { [target.userId]: [] } },
  });
  assertEquals(res.status, 200);
  return Object.keys(res.body.master_keys?.[target.userId]?.signatures ?? {});
}

browserTest("two people verify each other with emoji", async () => {
  const server = await startTestServer();
  const tabs: Tab[] = [];
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    const room = await server.request("POST", "/_matrix/client/v3/createRoom", {
      token: alice.accessToken,
      body: {
        name: "Alice and Bob",
        preset: "trusted_private_chat",
        is_direct: true,
        invite: [bob.userId],
      },
    });
    assertEquals(room.status, 200, JSON.stringify(room.body));
    const joined = await server.request(
      "POST",
      `/_matrix/client/v3/join/${encodeURIComponent(room.body.room_id)}`,
      { token: bob.accessToken, body: {} },
    );
    assertEquals(joined.status, 200);

    const [a, b] = await Promise.all([openTab("alice"), openTab("bob")]);
    tabs.push(a, b);
    await Promise.all([signIn(server, a.page, alice), signIn(server, b.page, bob)]);
    // Both need cross-signing identities: the verification signs the other's master key.
    await Promise.all([openSettings(a.page), openSettings(b.page)]);
    await a.page.getByRole("radio", { name: "Dark" }).check(); // alice's screens are dark
    await Promise.all([setUpSecureMessaging(a.page), setUpSecureMessaging(b.page)]);
    // Bob waits on the conversation list: the overlay comes to him there.
    await b.page.getByRole("link", { name: "Back to conversations" }).click();
    await b.page.getByRole("navigation", { name: "Conversation list" }).waitFor();

    // The settings' form wants a full Matrix ID.
    await a.page.getByLabel("Their Matrix ID").fill("bob");
    await a.page.getByRole("button", { name: "Verify user" }).click();
    await a.page.getByText("Enter a Matrix ID such as @name:example.org.").waitFor();

    // Bob writes; alice's copy of his message is marked: she has not verified him. She starts
    // the verification from that mark.
    await b.page.getByRole("link", { name: "Alice and Bob" }).click();
    await b.page.getByRole("textbox", { name: "Message" }).fill("Moien Alice");
    await b.page.getByRole("button", { name: "Send message" }).click();
    await a.page.getByRole("link", { name: "Back to conversations" }).click();
    await a.page.getByRole("link", { name: "Alice and Bob" }).click();
    await a.page.getByText("Moien Alice").first().waitFor();
    const shield = a.page.getByRole("button", { name: "Sender not verified" });
    await shield.first().click();
    await a.page.getByRole("button", { name: `Verify ${bob.userId}` }).click();
    const aliceDialog = a.page.getByRole("dialog", { name: "Verification" });
    await aliceDialog.getByText(`Waiting for ${bob.userId} to accept…`).waitFor();

    const bobDialog = b.page.getByRole("dialog", { name: "Verification" });
    await bobDialog.getByText(`${alice.userId} wants to verify you.`).waitFor();
    await bobDialog.getByRole("button", { name: "Accept" }).click();

    const [aliceEmoji, bobEmoji] = await Promise.all([shownEmoji(a.page), shownEmoji(b.page)]);
    assertEquals(aliceEmoji.length, 7, aliceEmoji.join(", "));
    await assertAccessible(b.page, "the emoji comparison");
    await assertAccessible(a.page, "the emoji comparison, dark");
    assertEquals(aliceEmoji, bobEmoji, "both screens show the same emoji and names");

    await Promise.all([
      aliceDialog.getByRole("button", { name: "They match" }).click(),
      bobDialog.getByRole("button", { name: "They match" }).click(),
    ]);
    await aliceDialog.getByText(`${bob.userId} is verified.`).waitFor();
    await bobDialog.getByText(`${alice.userId} is verified.`).waitFor();

    // Each one's user-signing key signed the other's master key, and the server has it.
    await until(
      "alice's signature on bob's master key",
      async () => (await masterKeySigners(server, alice, bob)).includes(alice.userId),
    );
    await until(
      "bob's signature on alice's master key",
      async () => (await masterKeySigners(server, bob, alice)).includes(bob.userId),
    );

    await aliceDialog.getByRole("button", { name: "Close" }).click();
    await aliceDialog.waitFor({ state: "detached" });
    await shield.first().waitFor({ state: "detached" }); // bob is verified now
    await b.page.keyboard.press("Escape");
    await bobDialog.waitFor({ state: "detached" });
    assertEquals(tabs.flatMap((t) => t.errors), [], "no page errors or CSP violations");
  } finally {
    await Promise.all(tabs.map((t) => t.browser.close()));
    await server.close();
  }
});

browserTest("a new device is verified by another device of the account", async () => {
  const server = await startTestServer();
  const tabs: Tab[] = [];
  try {
    const alice = await server.register("alice");
    const old = await openTab("alice-old");
    tabs.push(old);
    await signIn(server, old.page, alice);
    await openSettings(old.page);
    await setUpSecureMessaging(old.page);
    // The old device waits in a conversation-list screen; the new one opens the settings.
    await old.page.getByRole("link", { name: "Back to conversations" }).click();

    const fresh = await openTab("alice-new");
    tabs.push(fresh);
    await signIn(server, fresh.page, alice);
    const freshDevice = JSON.parse(
      await fresh.page.evaluate<string>(`localStorage.getItem("gemeng.session")`),
    ).deviceId as string;
    await openSettings(fresh.page);
    const status = securityStatus(fresh.page);
    await status.getByText("This device is not verified.").waitFor();

    // The new device asks; the old one declines, and the new one hears of it.
    await fresh.page.getByRole("button", { name: "Verify with another device" }).click();
    const freshDialog = fresh.page.getByRole("dialog", { name: "Verification" });
    await freshDialog.getByText("Accept the request on your other device.").waitFor();
    const oldDialog = old.page.getByRole("dialog", { name: "Verification" });
    await oldDialog.getByText(/^Another of your devices \(\w+\) wants to verify this one\.$/)
      .waitFor();
    await oldDialog.getByRole("button", { name: "Decline" }).click();
    await oldDialog.waitFor({ state: "detached" });
    await freshDialog.getByText("The verification was cancelled.").waitFor();
    await freshDialog.getByRole("button", { name: "Close" }).click();

    // Now the old device starts, from its device list, and the new one accepts.
    await openSettings(old.page);
    const row = old.page.getByRole("region", { name: "Your devices" })
      .locator(`li[data-device-id="${freshDevice}"]`);
    await row.getByText("Not verified", { exact: true }).waitFor();
    await row.getByRole("button", { name: "Verify" }).click();
    await freshDialog.getByRole("button", { name: "Accept" }).click();
    const [oldEmoji, freshEmoji] = await Promise.all([
      shownEmoji(old.page),
      shownEmoji(fresh.page),
    ]);
    assertEquals(oldEmoji.length, 7);
    assertEquals(oldEmoji, freshEmoji);
    await Promise.all([
      oldDialog.getByRole("button", { name: "They match" }).click(),
      freshDialog.getByRole("button", { name: "They match" }).click(),
    ]);
    await oldDialog.getByText("Your devices have verified each other.").waitFor();
    await freshDialog.getByText("Your devices have verified each other.").waitFor();
    await row.getByText("Verified", { exact: true }).waitFor();

    // The new device is cross-signed, and the old one shared the secrets with it.
    await status.getByText("This device is verified.", { exact: true }).waitFor();
    await status.getByText("Cross-signing is ready.").waitFor();
    await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();
    assertEquals(tabs.flatMap((t) => t.errors), [], "no page errors or CSP violations");
  } finally {
    await Promise.all(tabs.map((t) => t.browser.close()));
    await server.close();
  }
});

browserTest("a device without the recovery key resets secure messaging", async () => {
  const server = await startTestServer();
  const tabs: Tab[] = [];
  try {
    const alice = await server.register("alice");
    const masterKey = async () => {
      const res = await server.request("POST", "/_matrix/client/v3/keys/query", {
        token: alice.accessToken,
        body: { device_keys: { [alice.userId]: [] } },
      });
      assertEquals(res.status, 200);
      return JSON.stringify(res.body.master_keys?.[alice.userId]?.keys ?? null);
    };
    const first = await openTab("alice-1");
    tabs.push(first);
    await signIn(server, first.page, alice);
    await openSettings(first.page);
    await setUpSecureMessaging(first.page);
    const before = await masterKey();
    assert(before !== "null", "a master key after set-up");
    await first.page.close();

    // A new device, no other device left, the recovery key lost: reset.
    const second = await openTab("alice-2");
    tabs.push(second);
    await signIn(server, second.page, alice);
    await openSettings(second.page);
    await second.page.getByRole("button", { name: "Reset secure messaging" }).click();
    const confirm = second.page.getByRole("dialog", { name: "Reset secure messaging?" });
    await confirm.getByText(/will have to verify again/).waitFor();
    await assertAccessible(second.page, "the reset confirmation");
    // Cancel changes nothing.
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "detached" });
    assertEquals(await masterKey(), before);

    await second.page.getByRole("button", { name: "Reset secure messaging" }).click();
    await confirm.getByRole("button", { name: "Reset" }).click();
    // Replacing the account's keys needs the password.
    const ask = second.page.getByRole("dialog", { name: "Confirm it is you" });
    await ask.getByLabel("Password").fill(alice.password);
    await ask.getByRole("button", { name: "Continue" }).click();
    const shown = second.page.getByRole("dialog", { name: "Your recovery key" });
    await shown.getByRole("textbox", { name: "Recovery key" }).waitFor();
    await shown.getByRole("button", { name: "I have saved my recovery key" }).click();
    const status = securityStatus(second.page);
    try {
      await status.getByText("Cross-signing is ready.").waitFor();
      await status.getByText("This device is verified.", { exact: true }).waitFor();
      await status.getByText(/^Key backup is on \(version \w+\)\.$/).waitFor();
    } catch (err) {
      const shownNow = await status.textContent().catch(() => "(unreadable)");
      throw new Error(`${(err as Error).message}\nthe status said: ${shownNow}`);
    }
    const after = await masterKey();
    assert(after !== "null" && after !== before, "the account has a new master key");
    assertEquals(tabs.flatMap((tab) => tab.errors), []);
  } finally {
    for (const tab of tabs) await tab.browser.close();
    await server.close();
  }
});
