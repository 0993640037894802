/**
 * Single sign-on in headless Chromium through the web app, against npm `oidc-provider` run in
 * the test on loopback: the sign-in screen shows the provider's button (desktop and a 360 px
 * phone, axe WCAG 2.1 A/AA), the button leads to the provider's login and consent pages, and
 * the way back signs the person in with the `loginToken`, which leaves the address bar. A stale
 * token shows a clear problem on the sign-in screen. Signing out another device of the account
 * (which has no password) is confirmed at the provider in a window of its own.
 */

import { startTestServer, type TestServer } from "../support/test_server.ts";
import { issueLoginToken } from "../../server/auth/login_token.ts";
import { freePort, OIDC_CLIENT, startOidcProvider } from "../support/oidc_provider.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";
import { violations } from "./axe.ts";

const TIMEOUT = 20_000;
Deno.test({
  name: "web SSO: sign in through an OpenID provider from the sign-in screen",
  ignore: SKIP_REASON !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const provider = await startOidcProvider(`${base}/_gemeng/client/oidc/callback`);
    let server: TestServer | undefined;
    const browser = await launchBrowser();
    try {
      server = await startTestServer({
        port,
        config: {
          http: { public_base_url: base },
          auth: {
            oidc: [{
              id: "commune",
              name: "Commune account",
              issuer: provider.issuer,
              client_id: OIDC_CLIENT.id,
              client_secret: OIDC_CLIENT.secret,
              allow_insecure_http: true,
            }],
          },
        },
      });
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));

      // A used or made-up token: the sign-in screen says so and the token leaves the address.
      await page.goto(`${base}/sign-in?loginToken=made-up-token`);
      await page.getByRole("alert").filter({ hasText: "expired or was already used" }).waitFor();
      assert(!page.url().includes("loginToken"), page.url());

      const button = page.getByRole("button", { name: "Continue with Commune account" });
      await button.waitFor();
      assertEquals(await violations(page), [], "sign-in screen with SSO (desktop)");
      await page.setViewportSize({ width: 360, height: 740 });
      const box = await button.boundingBox();
      assert(
        box && box.x >= 0 && box.x + box.width <= 360,
        `button off screen: ${JSON.stringify(box)}`,
      );
      assertEquals(await violations(page), [], "sign-in screen with SSO (phone)");
      await page.setViewportSize({ width: 1024, height: 768 });

      await button.click();
      await page.waitForURL((url) => url.href.startsWith(provider.issuer));
      await page.locator('input[name="login"]').fill("marie");
      await page.locator('input[name="password"]').fill("any-password");
      await page.getByRole("button", { name: "Sign-in" }).click();
      await page.getByRole("button", { name: "Continue" }).click();

      await page.waitForURL((url) =>
        url.href.startsWith(base) && !url.search.includes("loginToken")
      );
      await page.waitForFunction(() =>
        Object.values(localStorage).some((value) => value.includes("@marie:localhost"))
      );
      await page.getByRole("heading", { name: "Sign in" }).waitFor({ state: "detached" });
      assert(!page.url().includes("loginToken"), page.url());
      const profile = await server.request("GET", "/_matrix/client/v3/profile/@marie:localhost");
      assertEquals(profile.body.displayname, "Person marie");

      // Signing out another device of this account, which has no password: the provider confirms.
      const other = await server.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.token",
          token: await issueLoginToken(server.hs, "@marie:localhost"),
        },
      });
      assertEquals(other.status, 200);
      await page.goto(`${base}/settings`);
      const row = page.getByRole("region", { name: "Your devices" })
        .locator(`li[data-device-id="${other.body.device_id}"]`);
      await row.getByRole("button", { name: "Sign out device" }).click();
      const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
      await dialog.waitFor();
      assertEquals(await violations(page), [], "the confirmation dialog");
      const [popup] = await Promise.all([
        browser.context.waitForEvent("page"),
        dialog.getByRole("button", { name: "Confirm" }).click(),
      ]);
      // The provider may remember marie, or ask again; either way the window reports back.
      // Each wait gives up after the page's timeout; a failed one never wins the race, and a race
      // that nothing wins ends with "stuck".
      const never = () => new Promise<string>(() => {});
      const stuck = () =>
        new Promise<string>((resolve) => setTimeout(() => resolve("stuck"), TIMEOUT));
      for (let round = 0; round < 3; round++) {
        const next = await Promise.race([
          popup.locator('input[name="login"]').waitFor().then(() => "login", never),
          popup.getByRole("button", { name: "Continue" }).waitFor().then(() => "consent", never),
          row.waitFor({ state: "detached" }).then(() => "done", never),
          stuck(),
        ]);
        if (next === "done") break;
        if (next === "stuck") {
          throw new Error(`stuck: popup at ${popup.isClosed() ? "(closed)" : popup.url()}`);
        }
        if (next === "login") {
          await popup.locator('input[name="login"]').fill("marie");
          await popup.locator('input[name="password"]').fill("any-password");
          await popup.getByRole("button", { name: "Sign-in" }).click();
        } else {
          await popup.getByRole("button", { name: "Continue" }).click();
        }
      }
      await row.waitFor({ state: "detached" });
      await dialog.waitFor({ state: "detached" });
      const gone = await server.request("GET", "/_matrix/client/v3/account/whoami", {
        token: other.body.access_token,
      });
      assertEquals(gone.status, 401, "the other device was signed out");
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await server?.close();
      await provider.close();
    }
  },
});
