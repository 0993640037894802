/**
 * The web app in headless Chromium against a real server: signing up and in, keeping the
 * session across reloads, signing out, the registration token field, languages, and opening
 * offline from the service worker's cache.
 */

import type { Page } from "playwright-core";
import { createRegistrationToken } from "../../server/store/accounts.ts";
import { startTestServer } from "../support/test_server.ts";
import { assertEquals } from "../unit/assert.ts";
import { violations } from "./axe.ts";
import { browserTestsNamed, clickThrough, submitSignIn, withApp } from "./session_support.ts";

const TIMEOUT = 15_000;
const browserTest = browserTestsNamed("web app: ");

async function fillSignUp(page: Page, username: string, password: string, token?: string) {
  await page.getByRole("heading", { name: "Create an account" }).waitFor();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Confirm password").fill(password);
  if (token !== undefined) await page.getByLabel("Registration token").fill(token);
  await page.getByRole("button", { name: "Create account" }).click();
}

async function expectShell(page: Page, userId: string) {
  await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
  await page.getByRole("button", { name: "Sign out", exact: true }).waitFor();
  await page.getByText(`Signed in as ${userId}`).first().waitFor();
}

browserTest("sign up, stay signed in across a reload, sign out", async () => {
  await withApp({ timeoutMs: TIMEOUT }, async (page, server) => {
    await page.goto(server.baseUrl);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assertEquals(new URL(page.url()).pathname, "/sign-in");

    await page.getByRole("link", { name: "Create an account" }).click();
    await fillSignUp(page, "anna", "correct horse battery");
    assertEquals(await page.getByLabel("Registration token").count(), 0);
    await expectShell(page, "@anna:localhost");
    assertEquals(new URL(page.url()).pathname, "/");
    await page.getByText("No conversations yet.").waitFor();

    const stored = await page.evaluate<string | null>(`localStorage.getItem("gemeng.session")`);
    const session = JSON.parse(stored ?? "null");
    assertEquals(session?.userId, "@anna:localhost");
    const whoami = await server.request("GET", "/_matrix/client/v3/account/whoami", {
      token: session.accessToken,
    });
    assertEquals(whoami.status, 200);

    await page.reload();
    await expectShell(page, "@anna:localhost");

    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assertEquals(await page.evaluate(`localStorage.getItem("gemeng.session")`), null);
    const after = await server.request("GET", "/_matrix/client/v3/account/whoami", {
      token: session.accessToken,
    });
    assertEquals(after.status, 401, "signing out revokes the device's token");
  });
});

browserTest("sign-up asks for a registration token when the server requires one", async () => {
  await withApp(
    { timeoutMs: TIMEOUT, config: { registration: { enabled: true, require_token: true } } },
    async (page, server) => {
      const token = await createRegistrationToken(server.hs.kv, { usesAllowed: 1 });
      await page.goto(`${server.baseUrl}/sign-up`);
      await page.getByLabel("Registration token").waitFor();
      await fillSignUp(page, "ben", "another long password", "not-the-token");
      await page.getByText("This registration token is not valid.").waitFor();
      await page.getByLabel("Registration token").fill(token);
      await page.getByRole("button", { name: "Create account" }).click();
      await expectShell(page, "@ben:localhost");
    },
  );
});

browserTest("language follows the browser and can be changed", async () => {
  await withApp({ timeoutMs: TIMEOUT, browser: { locale: "de-LU" } }, async (page, server) => {
    await page.goto(server.baseUrl);
    await page.getByRole("heading", { name: "Anmelden" }).waitFor();
    assertEquals(await page.evaluate("document.documentElement.lang"), "de");

    await page.getByRole("combobox", { name: "Sprache" }).selectOption("fr");
    await page.getByRole("heading", { name: "Se connecter" }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Se connecter" }).waitFor();

    // Signed in, the settings screen offers the same choice.
    const user = await server.register("chloe");
    await page.getByLabel("Nom d’utilisateur").fill("chloe");
    await page.getByLabel("Mot de passe").fill(user.password);
    await page.getByRole("button", { name: "Se connecter" }).click();
    await clickThrough(
      page.getByRole("link", { name: "Paramètres" }),
      page.getByRole("heading", { name: "Paramètres" }),
    );
    await page.getByRole("combobox", { name: "Langue" }).selectOption("lb");
    await page.getByRole("heading", { name: "Astellungen" }).waitFor();
    await page.getByRole("combobox", { name: "Sprooch" }).selectOption("en");
    await page.getByRole("heading", { name: "Settings" }).waitFor();
    assertEquals(await page.evaluate("document.documentElement.lang"), "en");
  });
});

browserTest(
  "the app opens offline, with its rooms, once the service worker has stored it",
  async () => {
    await withApp({ timeoutMs: TIMEOUT }, async (page, server) => {
      const user = await server.register("dora");
      const room = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: user.accessToken,
        body: { name: "Bureau des citoyens" },
      });
      assertEquals(room.status, 200);
      // By keyboard: the screen's heading has focus; Tab walks the form in order; Enter sends.
      await page.goto(server.baseUrl);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assertEquals(await page.evaluate("document.activeElement.tagName"), "H1");
      await page.keyboard.press("Tab");
      assertEquals(await page.evaluate("document.activeElement.type"), "url", "the server");
      await page.keyboard.press("Tab");
      await page.keyboard.type("dora");
      await page.keyboard.press("Tab");
      await page.keyboard.type(user.password);
      await page.keyboard.press("Enter");
      await expectShell(page, "@dora:localhost");
      await page.getByRole("link", { name: "Bureau des citoyens" }).waitFor();
      // Page functions are given as source text: this file is type-checked without the DOM.
      await page.waitForFunction(
        `navigator.serviceWorker.ready.then((registration) =>
        registration.active?.state === "activated" && !!navigator.serviceWorker.controller)`,
      );

      // The network drops while the app is open: it says so at once (not when the long-poll
      // times out), and syncs again as soon as the network is back.
      const notice = page.getByText("Offline: showing what this device has saved.");
      await page.context().setOffline(true);
      await notice.waitFor({ timeout: 3_000 });
      await page.context().setOffline(false);
      await notice.waitFor({ state: "detached", timeout: 5_000 });

      // Gone for real: the browser is offline and the server has stopped.
      await page.context().setOffline(true);
      await server.hs.close();
      await page.reload();
      await expectShell(page, "@dora:localhost");
      await page.getByText("Offline: showing what this device has saved.").waitFor();
      await page.getByRole("link", { name: "Bureau des citoyens" }).waitFor();
      await clickThrough(
        page.getByRole("link", { name: "Settings" }),
        page.getByRole("heading", { name: "Settings" }),
      );
      assertEquals(await page.evaluate("navigator.onLine"), false);
    });
  },
);

browserTest("every screen meets WCAG 2.1 AA (axe), light and dark, phone and desktop", async () => {
  await withApp(
    { timeoutMs: TIMEOUT, config: { registration: { enabled: true, require_token: true } } },
    async (page, server) => {
      const password = "a long enough password";
      const token = await createRegistrationToken(server.hs.kv, { usesAllowed: 1 });
      const body = { username: "eve", password };
      const challenge = await server.request("POST", "/_matrix/client/v3/register", { body });
      const auth = { type: "m.login.registration_token", token, session: challenge.body.session };
      const done = await server.request("POST", "/_matrix/client/v3/register", {
        body: { ...body, auth },
      });
      assertEquals(done.status, 200);
      const problems: string[] = [];
      const check = async (screen: string) => {
        for (const violation of await violations(page)) {
          problems.push(`${screen}: ${violation}`);
        }
      };
      for (const width of [360, 1024]) {
        await page.setViewportSize({ width, height: 720 });
        for (const dark of [false, true]) {
          const mode = `${width}px ${dark ? "dark" : "light"}`;
          await page.goto(`${server.baseUrl}/sign-up`);
          await page.evaluate(`localStorage.setItem("gemeng.theme", "${dark ? "dark" : "light"}")`);
          await page.reload();
          await page.getByLabel("Registration token").waitFor();
          await page.getByRole("button", { name: "Create account" }).click();
          await page.getByText("Please fill in every field.").waitFor();
          await check(`sign-up ${mode}`);
          await page.getByRole("link", { name: "Sign in instead" }).click();
          await page.getByLabel("Username").fill("eve");
          await page.getByLabel("Password").fill(password);
          await page.getByRole("button", { name: "Sign in" }).click();
          await expectShell(page, "@eve:localhost");
          await check(`shell ${mode}`);
          await clickThrough(
            page.getByRole("link", { name: "Settings" }),
            page.getByRole("heading", { name: "Settings" }),
          );
          // The profile and account parts load with the screen.
          await page.getByRole("heading", { name: "Deactivate account" }).waitFor();
          await check(`settings ${mode}`);
          await page.getByRole("button", { name: "Deactivate account…" }).click();
          await page.getByRole("dialog", { name: "Deactivate your account?" }).waitFor();
          await check(`deactivation ${mode}`);
          await page.keyboard.press("Escape");
          await page.getByRole("dialog").waitFor({ state: "detached" });
          await page.getByRole("button", { name: "Sign out", exact: true }).click();
          await page.getByRole("heading", { name: "Sign in" }).waitFor();
          await check(`sign-in ${mode}`);
        }
      }
      assertEquals(problems, []);
    },
  );
});

browserTest("the room list shows invitations and joined rooms from sync", async () => {
  // Messages are sent in plaintext over HTTP here, so the rooms are not encrypted by default.
  await withApp(
    { timeoutMs: TIMEOUT, config: { e2ee: { default_for: "off" } } },
    async (page, server) => {
      const anna = await server.register("anna");
      const ben = await server.register("ben");
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: ben.accessToken,
        body: { name: "Conseil communal", invite: [anna.userId], preset: "private_chat" },
      });
      assertEquals(created.status, 200, JSON.stringify(created.body));
      const own = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: anna.accessToken,
        body: { name: "Équipe sociale", preset: "private_chat" },
      });
      assertEquals(own.status, 200, JSON.stringify(own.body));

      await submitSignIn(page, server, anna);
      const list = page.getByRole("navigation", { name: "Conversation list" });
      await list.getByRole("link", { name: "Équipe sociale" }).waitFor();
      await list.getByText("Invited by @ben:localhost").waitFor();
      assertEquals(await violations(page), [], "with an invitation");

      await page.getByLabel("Search conversations").fill("equipe");
      await list.getByRole("button", { name: "Accept the invitation to Conseil communal" })
        .waitFor({ state: "detached" });
      await page.getByLabel("Search conversations").fill("");

      await list.getByRole("button", { name: "Accept the invitation to Conseil communal" }).click();
      await list.getByRole("link", { name: "Conseil communal" }).waitFor();
      const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(created.body.room_id)}`;
      const sent = await server.request("PUT", `${roomPath}/send/m.room.message/t1`, {
        token: ben.accessToken,
        body: { msgtype: "m.text", body: "Moien!" },
      });
      assertEquals(sent.status, 200);
      await list.getByLabel("1 unread message").waitFor();
      assertEquals(await violations(page), [], "with an unread badge");
      await clickThrough(
        list.getByRole("link", { name: "Conseil communal" }),
        page.getByRole("heading", { name: "Conseil communal" }),
      );
      assertEquals(
        decodeURIComponent(new URL(page.url()).pathname),
        `/rooms/${created.body.room_id}`,
      );
    },
  );
});

browserTest("signs in to another homeserver; a revoked session returns to sign-in", async () => {
  const other = await startTestServer();
  try {
    await withApp({ timeoutMs: TIMEOUT }, async (page, server) => {
      const fay = await other.register("fay");
      await page.goto(server.baseUrl);
      await page.getByLabel("Server").fill(other.baseUrl);
      await page.getByLabel("Username").fill("fay");
      await page.getByLabel("Password").fill(fay.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expectShell(page, "@fay:localhost");
      const stored = await page.evaluate<string>(`localStorage.getItem("gemeng.session")`);
      const session = JSON.parse(stored);
      assertEquals(session.homeserverUrl, other.baseUrl);
      const whoami = await other.request("GET", "/_matrix/client/v3/account/whoami", {
        token: session.accessToken,
      });
      assertEquals(whoami.body?.device_id, session.deviceId, "the session lives on that server");

      // Signed out elsewhere (say, from another device): the app notices and asks again.
      await other.request("POST", "/_matrix/client/v3/logout", { token: session.accessToken });
      await page.reload();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assertEquals(await page.evaluate(`localStorage.getItem("gemeng.session")`), null);
    });
  } finally {
    await other.close();
  }
});
