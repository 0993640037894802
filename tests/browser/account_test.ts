/**
 * Profile and account settings in headless Chromium against a real server: a display name and
 * a picture set in the settings and seen by another user in the timeline and the member list,
 * changing the password (a wrong current one refused; the new one signs in), signing out every
 * other device (their tokens stop working, this one keeps going), and deactivating the account
 * (sign-in fails afterwards). axe checks the new settings parts at 360 and 1280 px, light and
 * dark, and the deactivation dialog.
 */

import type { Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo } from "./room_support.ts";
import { violations } from "./axe.ts";
import { browserTest, signIn, TINY_PNG } from "./session_support.ts";

const TIMEOUT = 20_000;
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

async function until(page: Page, expression: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
}

/** The browser's own access token. */
async function browserToken(page: Page): Promise<string> {
  const stored = await page.evaluate<string>(`localStorage.getItem("gemeng.session")`);
  return JSON.parse(stored).accessToken;
}

async function whoami(server: TestServer, token: string): Promise<number> {
  const res = await server.request("GET", "/_matrix/client/v3/account/whoami", { token });
  return res.status;
}

async function openSettings(page: Page): Promise<void> {
  await page.goto(`${page.url().split("/").slice(0, 3).join("/")}/settings`);
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  // The profile and account parts load with the screen.
  await page.getByRole("heading", { name: "Profile" }).waitFor();
}

async function loginStatus(server: TestServer, localpart: string, password: string) {
  const res = await server.request("POST", "/_matrix/client/v3/login", {
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: localpart },
      password,
    },
  });
  return { status: res.status, token: res.body?.access_token as string | undefined };
}

browserTest(
  "web account: profile seen by others, password, other devices, deactivation",
  async (t) => {
    // Messages are sent in plaintext over HTTP here, so rooms are not encrypted by default.
    const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
    const browser = await launchBrowser({ viewport: PHONE });
    const errors: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (err) => errors.push(err.message));
      if (Deno.env.get("GEMENG_BROWSER_LOG")) {
        page.on("console", (msg) => console.log(`[page ${msg.type()}] ${msg.text()}`));
      }
      page.on("console", (msg) => {
        if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
          errors.push(msg.text());
        }
      });
      const anna: TestUser = await server.register("anna");
      const ben = await server.register("ben");
      const roomId = await createRoomOfTwo(server, ben, anna, {
        name: "Service technique",
        encrypted: false,
      });
      const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;

      await t.step("a display name and a picture, set on a phone", async () => {
        await signIn(page, server, anna);
        await openSettings(page);
        const name = page.getByLabel("Display name");
        await name.fill("Anna Muller");
        await page.getByRole("button", { name: "Save name" }).click();
        await page.getByText("Your name has been saved.").waitFor();

        await page.getByLabel("Profile picture").setInputFiles({
          name: "anna.png",
          mimeType: "image/png",
          buffer: TINY_PNG,
        });
        await page.getByText("Your picture has been saved.").waitFor();
        await page.getByRole("button", { name: "Remove picture" }).waitFor();
        await until(
          page,
          `!!document.querySelector('main img[data-avatar="image"][src^="blob:"]')`,
        );

        const profile = await server.request(
          "GET",
          `/_matrix/client/v3/profile/${encodeURIComponent(anna.userId)}`,
          { token: ben.accessToken },
        );
        assertEquals(profile.body?.displayname, "Anna Muller");
        assert(String(profile.body?.avatar_url).startsWith("mxc://"), JSON.stringify(profile.body));

        // The server copies the profile into the room; Ben's view of Anna's membership has it.
        const member = await server.request(
          "GET",
          `${roomPath}/state/m.room.member/${encodeURIComponent(anna.userId)}`,
          { token: ben.accessToken },
        );
        assertEquals(member.body?.displayname, "Anna Muller");
        assertEquals(member.body?.avatar_url, profile.body?.avatar_url);

        for (const dark of [false, true]) {
          await page.evaluate(`localStorage.setItem("gemeng.theme", "${dark ? "dark" : "light"}")`);
          await openSettings(page);
          for (const viewport of [PHONE, DESKTOP]) {
            await page.setViewportSize(viewport);
            assertEquals(
              await violations(page),
              [],
              `settings at ${viewport.width}px ${dark ? "dark" : "light"}`,
            );
          }
          await page.setViewportSize(PHONE);
        }
        await page.evaluate(`localStorage.setItem("gemeng.theme", "light")`);

        const sent = await server.request("PUT", `${roomPath}/send/m.room.message/a1`, {
          token: anna.accessToken,
          body: { msgtype: "m.text", body: "Moien, hei ass d'Anna." },
        });
        assertEquals(sent.status, 200);
        await page.goto(server.baseUrl);
        await signOut(page);
      });

      await t.step("another user sees them in the timeline and the member list", async () => {
        await page.setViewportSize(DESKTOP);
        await signIn(page, server, ben);
        const list = page.getByRole("navigation", { name: "Conversation list" });
        await list.getByRole("link", { name: "Service technique" }).click();
        const message = page.getByRole("article").filter({ hasText: "Moien, hei ass d'Anna." });
        await message.waitFor();
        await message.getByText("Anna Muller", { exact: true }).waitFor();
        // The sender's picture: the server's thumbnail, fetched with the token, shown decoded.
        const picture = message.locator('img[data-avatar="image"]');
        await picture.waitFor();
        await until(
          page,
          `[...document.querySelectorAll('article img[data-avatar="image"]')].some((img) => img.complete && img.naturalWidth > 0)`,
        );
        // Ben has no picture: his initials instead.
        await page.getByRole("button", { name: "Room settings" }).click();
        const settings = page.getByRole("dialog", { name: "Settings of Service technique" });
        await settings.getByText("Anna Muller", { exact: true }).waitFor();
        // Her picture beside her name in the member list too.
        await settings.getByRole("listitem").filter({ hasText: "Anna Muller" })
          .locator('img[data-avatar="image"]').waitFor();
        await page.keyboard.press("Escape");
        await settings.waitFor({ state: "detached" });
        await signOut(page);
        await page.setViewportSize(PHONE);
      });

      const newPassword = "a brand new passphrase 2026";
      let browserSession = "";
      await t.step("changing the password: the current one is checked", async () => {
        await signIn(page, server, anna);
        browserSession = await browserToken(page);
        const other = await loginStatus(server, "anna", anna.password);
        assertEquals(other.status, 200);
        await openSettings(page);

        await page.getByLabel("Current password").first().fill("not my password");
        await page.getByLabel("New password", { exact: true }).fill(newPassword);
        await page.getByLabel("Confirm new password").fill(newPassword);
        await page.getByRole("button", { name: "Change password" }).click();
        await page.getByText("The password is wrong.").waitFor();
        assertEquals((await loginStatus(server, "anna", anna.password)).status, 200);

        await page.getByLabel("Current password").first().fill(anna.password);
        await page.getByLabel("New password", { exact: true }).fill(newPassword);
        await page.getByLabel("Confirm new password").fill("something else");
        await page.getByRole("button", { name: "Change password" }).click();
        await page.getByText("The new passwords do not match.").waitFor();

        await page.getByLabel("Confirm new password").fill(newPassword);
        await page.getByRole("button", { name: "Change password" }).click();
        await page.getByText("Your password has been changed.").waitFor();
        assertEquals((await loginStatus(server, "anna", anna.password)).status, 403);
        // The other sessions were signed out with the change; this one goes on.
        assertEquals(await whoami(server, other.token!), 401);
        assertEquals(await whoami(server, browserSession), 200);
      });

      await t.step("the new password signs in", async () => {
        const fresh = await loginStatus(server, "anna", newPassword);
        assertEquals(fresh.status, 200);
      });

      await t.step("signing out every other device", async () => {
        const second = await loginStatus(server, "anna", newPassword);
        assertEquals(await whoami(server, second.token!), 200);
        const devices = page.getByRole("region", { name: "Other devices" });
        await devices.getByLabel("Current password").fill(newPassword);
        await devices.getByRole("button", { name: "Sign out all other devices" }).click();
        await devices.getByText(/devices? (was|were) signed out\./).waitFor();
        assertEquals(await whoami(server, second.token!), 401);
        assertEquals(await whoami(server, browserSession), 200);
        const left = await server.request("GET", "/_matrix/client/v3/devices", {
          token: browserSession,
        });
        assertEquals(left.body?.devices?.length, 1, JSON.stringify(left.body));

        // Nobody else is left now.
        await devices.getByLabel("Current password").fill(newPassword);
        await devices.getByRole("button", { name: "Sign out all other devices" }).click();
        await devices.getByText("No other device is signed in.").waitFor();
      });

      await t.step("deactivation asks first, then the account is gone", async () => {
        await page.getByRole("button", { name: "Deactivate account…" }).click();
        const dialog = page.getByRole("dialog", { name: "Deactivate your account?" });
        await dialog.waitFor();
        for (const viewport of [PHONE, DESKTOP]) {
          await page.setViewportSize(viewport);
          assertEquals(
            await violations(page),
            [],
            `deactivation at ${viewport.width}px`,
          );
        }
        await page.setViewportSize(PHONE);
        // Cancel changes nothing.
        await dialog.getByRole("button", { name: "Cancel" }).click();
        await dialog.waitFor({ state: "detached" });
        assertEquals(await whoami(server, browserSession), 200);

        await page.getByRole("button", { name: "Deactivate account…" }).click();
        await dialog.getByLabel("Current password").fill("wrong");
        await dialog.getByRole("button", { name: "Deactivate for good" }).click();
        await dialog.getByText("The password is wrong.").waitFor();
        assertEquals(await whoami(server, browserSession), 200);

        await dialog.getByLabel(/Also erase my data/).check();
        await dialog.getByLabel("Current password").fill(newPassword);
        await dialog.getByRole("button", { name: "Deactivate for good" }).click();
        await page.getByRole("heading", { name: "Sign in" }).waitFor();
        assertEquals(await page.evaluate(`localStorage.getItem("gemeng.session")`), null);
        assertEquals(await whoami(server, browserSession), 401);
        assertEquals((await loginStatus(server, "anna", newPassword)).status, 403);

        await page.getByLabel("Username").fill("anna");
        await page.getByLabel("Password").fill(newPassword);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("alert").filter({ hasText: /deactivated|Wrong username/ }).waitFor();
      });
      assertEquals(errors, [], "the page threw or broke its Content-Security-Policy");
    } finally {
      await browser.close();
      await server.close();
    }
  },
);
