/**
 * The admin console in headless Chromium against one real server (a gemeng node with TLS
 * federation, so destinations exist): a server admin finds the console in the settings and
 * drives every area over the admin API: creates a user who then signs in over HTTP, resets the
 * password, makes them admin and locks them; creates and revokes a registration token; sees a
 * report from another user, views its event and dismisses it; quarantines a medium, whose
 * download then answers 404; blocks and deletes a room; sees the allow list and a failing
 * destination and retries it; sends a server notice; reads health; finds these actions in the
 * audit log, filters it and exports it. Axe's WCAG 2.1 AA checks on each area, a phone width,
 * and a non-admin who sees no link and "not allowed" at /admin.
 */

import type { Page } from "playwright-core";
import { updateUser } from "../../server/store/accounts.ts";
import { type GemengNode, startGemengNode } from "../federation/support/gemeng_node.ts";
import { CA_MISSING, freePort } from "../federation/support/peers.ts";
import { eventually } from "../federation/support/rooms.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";
import { violations } from "./axe.ts";
import { clickThrough } from "./session_support.ts";

const TIMEOUT = 20_000;
const V1 = "/_synapse/admin/v1";
const enc = encodeURIComponent;
async function login(node: GemengNode, user: string, password: string): Promise<number> {
  const res = await node.request("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  });
  return res.status;
}

async function signIn(page: Page, node: GemengNode, localpart: string): Promise<void> {
  await page.goto(node.baseUrl);
  await page.getByLabel("Username").fill(localpart);
  await page.getByLabel("Password").fill(`pw-${localpart}-secret`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/** Opens a section from the console's menu and waits for its heading. */
async function section(page: Page, name: string): Promise<void> {
  await clickThrough(
    page.getByRole("navigation", { name: "Administration sections" })
      .getByRole("link", { name, exact: true }),
    page.getByRole("heading", { name: `Server administration: ${name}` }),
  );
}

function row(page: Page, table: string, text: string) {
  return page.getByRole("table", { name: table }).getByRole("row").filter({ hasText: text });
}

Deno.test({
  name: "web admin console: every area, audit log and export, phone, non-admins refused",
  ignore: SKIP_REASON !== null || CA_MISSING !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Nothing listens there: sends to it fail and back off.
    const unreachable = `127.0.0.1:${freePort()}`;
    const node = await startGemengNode({
      config: { federation: { allow: [unreachable, "partner.example.org"] } },
    });
    const browser = await launchBrowser();
    try {
      const root = await node.register("root");
      await updateUser(node.hs.kv, root.userId, (user) => ({ ...user, admin: true }));
      const carol = await node.register("carol");
      const eve = await node.register("eve");
      const admin = (method: string, path: string, body?: unknown) =>
        node.request(method, `${V1}${path}`, { token: root.accessToken, body });

      // A room with a message that eve reports, and a file of carol's.
      const created = await node.request("POST", "/_matrix/client/v3/createRoom", {
        token: carol.accessToken,
        body: { name: "Conseil", preset: "public_chat" },
      });
      const roomId: string = created.body.room_id;
      assertEquals(
        (await node.request("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {
          token: eve.accessToken,
          body: {},
        })).status,
        200,
      );
      const sent = await node.request(
        "PUT",
        `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`,
        { token: carol.accessToken, body: { msgtype: "m.text", body: "Buy cheap watches" } },
      );
      const eventId: string = sent.body.event_id;
      const reported = await node.request(
        "POST",
        `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(eventId)}`,
        { token: eve.accessToken, body: { reason: "Advertising", score: -100 } },
      );
      assertEquals(reported.status, 200, JSON.stringify(reported.body));
      // Mallory joins to advertise, and is reported too.
      const mallory = await node.register("mallory");
      await node.request("POST", `/_matrix/client/v3/join/${enc(roomId)}`, {
        token: mallory.accessToken,
        body: {},
      });
      const spam = await node.request(
        "PUT",
        `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/m1`,
        { token: mallory.accessToken, body: { msgtype: "m.text", body: "Click this link" } },
      );
      assertEquals(
        (await node.request(
          "POST",
          `/_matrix/client/v3/rooms/${enc(roomId)}/report/${enc(spam.body.event_id)}`,
          { token: eve.accessToken, body: { reason: "Phishing" } },
        )).status,
        200,
      );
      const uploadFile = (name: string, text: string) =>
        fetch(`${node.baseUrl}/_matrix/media/v3/upload?filename=${name}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${carol.accessToken}`, "Content-Type": "text/plain" },
          body: text,
        }).then((res) => res.json()).then((body) => body.content_uri as string);
      const oldFile = await uploadFile("old.txt", "an old draft");
      const upload = await fetch(`${node.baseUrl}/_matrix/media/v3/upload?filename=minutes.txt`, {
        method: "POST",
        headers: { Authorization: `Bearer ${carol.accessToken}`, "Content-Type": "text/plain" },
        body: "Minutes of the council meeting ".repeat(100),
      });
      const mxc: string = (await upload.json()).content_uri;
      const download = () =>
        fetch(`${node.baseUrl}/_matrix/client/v1/media/download/${mxc.slice(6)}`, {
          headers: { Authorization: `Bearer ${eve.accessToken}` },
        }).then(async (res) => [res.status, await res.body?.cancel()][0]);
      assertEquals(await download(), 200);
      // A to-device message to a user of the unreachable server makes it a destination.
      const toDevice = await node.request(
        "PUT",
        `/_matrix/client/v3/sendToDevice/m.gemeng.test/td1`,
        {
          token: carol.accessToken,
          body: { messages: { [`@ghost:${unreachable}`]: { "*": { hello: 1 } } } },
        },
      );
      assertEquals(toDevice.status, 200);
      await eventually(async () => {
        const res = await admin("GET", `/federation/destinations/${enc(unreachable)}`);
        return res.status === 200 && res.body.failures >= 1;
      }, "a failed send to the unreachable server");

      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await signIn(page, node, "root");
      await page.goto(`${node.baseUrl}/settings`);
      await clickThrough(
        page.getByRole("link", { name: "Server administration" }),
        page.getByRole("heading", { name: "Server administration: Users" }),
      );
      assertEquals(new URL(page.url()).pathname, "/admin");

      // Users: create, sign in over HTTP, reset the password, make admin, lock.
      await row(page, "Users", carol.userId).waitFor();
      const create = page.getByRole("form", { name: "Create a user" });
      await create.getByLabel("Username").fill("dora");
      await create.getByLabel("Password").fill("dora-first-pass");
      await create.getByLabel("Display name").fill("Dora");
      await create.getByRole("button", { name: "Create" }).click();
      const dora = `@dora:${node.serverName}`;
      await page.getByText(`${dora} has been created.`).waitFor();
      const signedIn = await node.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "dora" },
          password: "dora-first-pass",
          device_id: "DORAPHONE",
        },
      });
      assertEquals(signedIn.status, 200);
      // Dora's session shows once the user is opened again.
      await page.reload();
      await row(page, "Users", dora).getByRole("button", { name: `Open ${dora}` }).click();
      const detail = page.getByRole("region", { name: `User ${dora}` });
      await detail.getByText("Dora · active · not an admin").waitFor();
      const devices = `Devices of ${dora}`;
      await row(page, devices, "DORAPHONE").getByRole("button", {
        name: "Sign out device DORAPHONE?",
      })
        .click();
      await page.getByRole("dialog", { name: "Sign out device DORAPHONE?" })
        .getByRole("button", { name: "Sign out" }).click();
      await row(page, devices, "Nothing here.").waitFor();
      const whoami = await node.request("GET", "/_matrix/client/v3/account/whoami", {
        token: signedIn.body.access_token,
      });
      assertEquals(whoami.status, 401);
      await detail.getByLabel("New password").fill("dora-second-pass");
      await detail.getByRole("button", { name: "Reset password" }).click();
      await detail.getByText("The password has been reset.").waitFor();
      assertEquals(await login(node, "dora", "dora-second-pass"), 200);
      assertEquals(await login(node, "dora", "dora-first-pass"), 403);
      await detail.getByRole("button", { name: "Make server admin" }).click();
      await detail.getByText("The user is now a server admin.").waitFor();
      assertEquals((await admin("GET", `/users/${enc(dora)}/admin`)).body.admin, true);
      await detail.getByRole("button", { name: "Lock", exact: true }).click();
      await detail.getByText(/The account is locked/).waitFor();
      await detail.getByText("Dora · active, locked · server admin").waitFor();
      assertEquals(
        (await node.request("GET", `/_synapse/admin/v2/users/${enc(dora)}`, {
          token: root.accessToken,
        })).body.locked,
        true,
      );
      assertEquals(await violations(page), [], "users");

      // Registration tokens.
      await section(page, "Registration tokens");
      const tokenForm = page.getByRole("form", { name: "Create a registration token" });
      await tokenForm.getByLabel("Token", { exact: true }).fill("welcome-2026");
      await tokenForm.getByLabel(/Uses allowed/).fill("3");
      await tokenForm.getByRole("button", { name: "Create" }).click();
      await page.getByText("Token welcome-2026 has been created.").waitFor();
      const tokenRow = row(page, "Registration tokens", "welcome-2026");
      await tokenRow.getByText("0 of 3").waitFor();
      assertEquals((await admin("GET", "/registration_tokens/welcome-2026")).status, 200);
      assertEquals(await violations(page), [], "tokens");
      // By keyboard: Enter on the revoke button asks, Escape keeps the token, and the dialog
      // gives the focus back.
      const revokeButton = tokenRow.getByRole("button", { name: "Revoke token welcome-2026?" });
      await revokeButton.focus();
      await page.keyboard.press("Enter");
      const revoke = page.getByRole("dialog", { name: "Revoke token welcome-2026?" });
      await revoke.waitFor();
      await page.keyboard.press("Escape");
      await revoke.waitFor({ state: "detached" });
      assertEquals(
        await page.evaluate("document.activeElement.getAttribute('aria-label')"),
        "Revoke token welcome-2026?",
      );
      await page.keyboard.press("Enter");
      await revoke.getByRole("button", { name: "Revoke" }).click();
      await tokenRow.waitFor({ state: "detached" });
      assertEquals((await admin("GET", "/registration_tokens/welcome-2026")).status, 404);

      // Reports: eve's report, its event, dismissed.
      await section(page, "Reports");
      const reportRow = row(page, "Reports", "Advertising");
      await reportRow.getByText(eve.userId).waitFor();
      await reportRow.getByText(carol.userId).waitFor();
      await reportRow.getByRole("button", { name: "View event" }).click();
      const eventDialog = page.getByRole("dialog", { name: "Reported event" });
      await eventDialog.getByText(/Buy cheap watches/).waitFor();
      assertEquals(await violations(page), [], "a reported event");
      await eventDialog.getByRole("button", { name: "Close" }).click();
      await reportRow.getByRole("button", { name: "Dismiss" }).click();
      await page.getByRole("dialog", { name: "Dismiss this report?" })
        .getByRole("button", { name: "Dismiss" }).click();
      await page.getByText("The report has been dismissed.").waitFor();
      await reportRow.waitFor({ state: "detached" });
      const phishing = row(page, "Reports", "Phishing");
      await phishing.getByRole("button", { name: "Deactivate sender" }).click();
      const deactivate = page.getByRole("dialog", { name: `Deactivate ${mallory.userId}?` });
      assertEquals(await violations(page), [], "the deactivation dialog");
      await deactivate.getByRole("button", { name: "Deactivate" }).click();
      await deactivate.waitFor({ state: "detached" });
      const malloryNow = await node.request(
        "GET",
        `/_synapse/admin/v2/users/${enc(mallory.userId)}`,
        { token: root.accessToken },
      );
      assertEquals(malloryNow.body.deactivated, true);
      await phishing.getByRole("button", { name: "Dismiss" }).click();
      await page.getByRole("dialog", { name: "Dismiss this report?" })
        .getByRole("button", { name: "Dismiss" }).click();
      await phishing.waitFor({ state: "detached" });
      assertEquals((await admin("GET", "/event_reports")).body.total, 0);

      // Media: the file, quarantined; its download is then 404.
      await section(page, "Media");
      const fileRow = row(page, "Largest files", "minutes.txt");
      await fileRow.getByText(carol.userId).waitFor();
      await row(page, "Storage per user", carol.userId).waitFor();
      await fileRow.getByRole("button", { name: "Quarantine minutes.txt" }).click();
      await page.getByText(/The file is quarantined/).waitFor();
      await fileRow.getByText("quarantined", { exact: true }).waitFor();
      assertEquals(await download(), 404);
      assertEquals(await violations(page), [], "media");
      const oldRow = row(page, "Largest files", "old.txt");
      await oldRow.getByRole("button", { name: "Delete old.txt?" }).click();
      await page.getByRole("dialog", { name: "Delete old.txt?" })
        .getByRole("button", { name: "Delete" }).click();
      await page.getByText("The file has been deleted.").waitFor();
      await oldRow.waitFor({ state: "detached" });
      assertEquals((await admin("GET", `/media/${oldFile.slice(6)}`)).status, 404);
      // The malware scanner's list: no clamd in this test, so it renders its empty message.
      await page.getByRole("table", { name: "Files refused as malware" })
        .getByText("No file has been refused", { exact: false }).waitFor();

      // Rooms: listed with members, blocked, deleted with purge.
      await section(page, "Rooms");
      const roomRow = row(page, "Rooms", "Conseil");
      await roomRow.getByRole("cell", { name: "2", exact: true }).first().waitFor();
      await roomRow.getByRole("button", { name: "Open Conseil" }).click();
      const roomPanel = page.getByRole("region", { name: "Room Conseil" });
      await roomPanel.getByText("Members here: 2").waitFor();
      await roomPanel.getByText("public", { exact: true }).waitFor();
      await roomPanel.getByText(eve.userId).waitFor();
      // Purge the history before a minute from now (the browser's local time): the messages go.
      await roomPanel.getByRole("button", { name: "Purge history before a date" }).click();
      const purgeDialog = page.getByRole("dialog", { name: "Purge the history of Conseil?" });
      const later = await page.evaluate<string>(`(() => {
        const d = new Date(Date.now() + 60_000 - new Date().getTimezoneOffset() * 60_000);
        return d.toISOString().slice(0, 16);
      })()`);
      await purgeDialog.getByLabel("Delete messages before").fill(later);
      assertEquals(await violations(page), [], "the purge dialog");
      await purgeDialog.getByRole("button", { name: "Purge" }).click();
      await roomPanel.getByText(/History purged: \d+ messages deleted/).waitFor();
      const history = await node.request(
        "GET",
        `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`,
        { token: carol.accessToken },
      );
      assertEquals(history.status, 200);
      assertEquals(
        // deno-lint-ignore no-explicit-any
        history.body.chunk.filter((e: any) => e.type === "m.room.message").length,
        0,
        "messages before the date are gone",
      );
      await roomPanel.getByRole("button", { name: "Block", exact: true }).click();
      await roomPanel.getByText(/The room is blocked/).waitFor();
      assertEquals((await admin("GET", `/rooms/${enc(roomId)}/block`)).body.block, true);
      assertEquals(await violations(page), [], "rooms");
      await roomPanel.getByRole("button", { name: "Delete room" }).click();
      const deleteDialog = page.getByRole("dialog", { name: "Delete room Conseil?" });
      assert(await deleteDialog.getByLabel(/purge its history/).isChecked(), "purge by default");
      assertEquals(await violations(page), [], "the delete dialog");
      await deleteDialog.getByRole("button", { name: "Delete room" }).click();
      await page.getByText("Conseil has been deleted.").waitFor();
      await roomRow.waitFor({ state: "detached" });
      assertEquals((await admin("GET", `/rooms/${enc(roomId)}`)).status, 404);

      // Federation: the allow list and the failing destination, retried.
      await section(page, "Federation");
      const allowList = page.getByRole("list", { name: "Servers allowed to federate" });
      await allowList.getByText("partner.example.org").waitFor();
      await allowList.getByText(unreachable).waitFor();
      const destination = row(page, "Destinations", unreachable);
      await destination.waitFor();
      assert(/Connection refused|connect|error/i.test(await destination.innerText()));
      await destination.getByRole("button", { name: `Retry now: ${unreachable}` }).click();
      await page.getByText(`${unreachable} is being retried.`).waitFor();
      assertEquals(await violations(page), [], "federation");

      // A server notice to eve.
      await section(page, "Server notices");
      await page.getByLabel("Message").fill("Maintenance tonight at 22:00");
      await page.getByLabel("Send to every user").uncheck();
      await page.getByLabel("User IDs (one per line)").fill(eve.userId);
      await page.getByRole("button", { name: "Send notice" }).click();
      await page.getByText("Notice sent to 1 of 1 users.").waitFor();
      assert((await node.hs.kv.get(["server_notice", "room", eve.userId])).value !== null);
      // To every active user: the notices' own account is left out, so none fails.
      await page.getByLabel("Send to every user").check();
      await page.getByRole("button", { name: "Send notice" }).click();
      await page.getByText(/^Notice sent to (\d) of \1 users\.$/).waitFor();
      assert((await node.hs.kv.get(["server_notice", "room", carol.userId])).value !== null);
      assertEquals(await violations(page), [], "notices");

      // Health.
      await section(page, "Health");
      await page.getByText("The server is healthy.").waitFor();
      await page.getByText(node.serverName, { exact: true }).waitFor();
      assertEquals(await violations(page), [], "health");

      // The audit log: the actions above, filtered, exported.
      await section(page, "Audit log");
      const audit = page.getByRole("table", { name: "Audit log" });
      for (
        const action of [
          "user.create",
          "user.reset_password",
          "user.set_admin",
          "registration_token.create",
          "registration_token.delete",
          "event_report.delete",
          "media.quarantine",
          "room.block",
          "room.delete",
          "server_notice.send",
        ]
      ) {
        await audit.getByText(action, { exact: true }).first().waitFor();
      }
      await page.getByLabel("Action", { exact: true }).fill("user");
      await page.getByRole("button", { name: "Filter" }).click();
      await eventually(async () => {
        const actions = await audit.locator("tbody tr td:nth-child(3)").allInnerTexts();
        return actions.length > 0 && actions.every((a) => a.startsWith("user.")) ? actions : null;
      }, "only user actions");
      await page.getByLabel("Action", { exact: true }).fill("");
      // From today: everything above is still there; from tomorrow: nothing.
      const day = (offset: number) => {
        const date = new Date(Date.now() + offset * 86_400_000);
        const pad = (n: number) => String(n).padStart(2, "0");
        return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
      };
      await page.getByLabel("From (day)").fill(day(1));
      await page.getByRole("button", { name: "Filter" }).click();
      await audit.getByText("Nothing here.").waitFor();
      await page.getByLabel("From (day)").fill(day(0));
      await page.getByRole("button", { name: "Filter" }).click();
      await audit.getByText("room.delete", { exact: true }).waitFor();
      const downloading = page.waitForEvent("download");
      await page.getByRole("button", { name: "Export" }).click();
      const file = await downloading;
      assert(/^gemeng-audit-\d{4}-\d\d-\d\d\.json$/.test(file.suggestedFilename()));
      const path = await file.path();
      const exported: { action: string; actor: string }[] = JSON.parse(
        await Deno.readTextFile(path!),
      );
      const actions = new Set(exported.map((entry) => entry.action));
      for (const action of ["user.create", "room.delete", "media.quarantine", "audit_log.export"]) {
        assert(actions.has(action), `${action} in the export`);
      }
      assert(exported.every((entry) => entry.actor === root.userId));
      assertEquals(await violations(page), [], "audit log");

      // A phone: the menu wraps, tables scroll inside their region, the page does not.
      await page.setViewportSize({ width: 375, height: 740 });
      for (
        const [name, shown] of [
          ["Users", carol.userId],
          ["Registration tokens", "Nothing here."],
          ["Reports", "Nothing here."],
          ["Media", "minutes.txt"],
          ["Federation", unreachable],
          ["Health", "The server is healthy."],
          ["Audit log", "room.delete"],
        ]
      ) {
        await section(page, name);
        await page.getByRole("main").getByText(shown, { exact: true }).first().waitFor();
        const width = await page.evaluate<number>("document.documentElement.scrollWidth");
        assert(width <= 375, `${name}: the page is ${width} px wide`);
      }
      assertEquals(await violations(page), [], "the audit log on a phone");
      await page.setViewportSize({ width: 1024, height: 768 });

      // Someone who is not a server admin.
      await page.goto(`${node.baseUrl}/`);
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await signIn(page, node, "eve");
      const asked = page.waitForResponse((res) => res.url().endsWith(`/${enc(eve.userId)}/admin`));
      await page.goto(`${node.baseUrl}/settings`);
      assertEquals((await asked).status(), 403);
      await page.getByRole("heading", { name: "Profile" }).waitFor();
      assertEquals(await page.getByRole("link", { name: "Server administration" }).count(), 0);
      await page.goto(`${node.baseUrl}/admin/users`);
      await page.getByText("Not allowed: only server admins can open the administration.")
        .waitFor();
      assertEquals(
        await page.getByRole("navigation", { name: "Administration sections" }).count(),
        0,
      );
      const refused = await node.request("GET", `${V1}/gemeng/server_info`, {
        token: eve.accessToken,
      });
      assertEquals(refused.status, 403);
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await node.close();
    }
  },
});
