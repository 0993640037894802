/**
 * Secure messaging in the web app, in headless Chromium against a real server with the Rust
 * crypto of matrix-js-sdk on both ends:
 *
 * 1. alice and bob, each in their own browser, verify each other with emoji: alice asked to be
 *    warned about unverified people, so bob's message carries "Sender not verified"; she starts
 *    from that mark, bob accepts in the overlay, both see the same seven emoji, both confirm,
 *    each one's master key ends up signed by the other, and the mark goes away.
 * 2. a new device is verified by another device of the account (declined once, then started
 *    from the device list), and receives the cross-signing and backup secrets.
 * 3. a device without the recovery key resets secure messaging.
 *
 * The first-sign-in flow, the marks on messages and restoring with the recovery key are in
 * secure_setup_test.ts.
 */

import type { Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import {
  assertAccessible,
  browserTest,
  openSettings,
  openTab,
  securityStatus,
  setUpSecureMessaging,
  type Tab,
  until,
} from "./security_support.ts";
import { signIn } from "./session_support.ts";

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
    await Promise.all([signIn(a.page, server, alice), signIn(b.page, server, bob)]);
    // Both need cross-signing identities: the verification signs the other's master key.
    await Promise.all([openSettings(a.page), openSettings(b.page)]);
    await a.page.getByRole("radio", { name: "Dark" }).check(); // alice's screens are dark
    await Promise.all([setUpSecureMessaging(a.page), setUpSecureMessaging(b.page)]);
    // Only then are messages from people she has not verified marked.
    await a.page.getByRole("checkbox", {
      name: "Warn me about messages from people I have not verified",
    }).check();
    // Bob waits on the conversation list: the overlay comes to him there.
    await b.page.getByRole("link", { name: "Back to conversations" }).click();
    await b.page.getByRole("navigation", { name: "Conversation list" }).waitFor();

    // The settings' form wants a full Matrix ID.
    await a.page.getByLabel("Their Matrix ID").fill("bob");
    await a.page.getByRole("button", { name: "Verify user" }).click();
    await a.page.getByText("Enter a Matrix ID such as @name:example.org.").waitFor();

    // Bob writes; alice's copy of his message is marked: she has not verified him, and asked to
    // be warned. She starts the verification from that mark.
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
    await signIn(old.page, server, alice);
    await openSettings(old.page);
    await setUpSecureMessaging(old.page);
    // The old device waits in a conversation-list screen; the new one opens the settings.
    await old.page.getByRole("link", { name: "Back to conversations" }).click();

    const fresh = await openTab("alice-new");
    tabs.push(fresh);
    await signIn(fresh.page, server, alice);
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
    await signIn(first.page, server, alice);
    await openSettings(first.page);
    await setUpSecureMessaging(first.page);
    const before = await masterKey();
    assert(before !== "null", "a master key after set-up");
    await first.page.close();

    // A new device, no other device left, the recovery key lost: reset.
    const second = await openTab("alice-2");
    tabs.push(second);
    await signIn(second.page, server, alice);
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
