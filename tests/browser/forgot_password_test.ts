/**
 * Password reset by email in headless Chromium through the web app, with a real SMTP server
 * (Debian's aiosmtpd on loopback, as tests/integration/email_test.ts): the sign-in screen shows
 * "Forgot password?" only for a server that sends mail, the mail arrives, its link is opened and
 * confirmed, the new password is set in the app and signs in. Skipped with a message when
 * aiosmtpd or Chromium is missing.
 */

import { startTestServer, type TestServer } from "../support/test_server.ts";
import { smtpAvailable, startSmtpServer } from "../support/smtp_server.ts";
import { addThreepid } from "../../server/email/threepid_store.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser, SKIP_REASON } from "./chromium.ts";
import { violations } from "./axe.ts";

const TIMEOUT = 20_000;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
const SMTP = await smtpAvailable();
if (!SMTP) {
  console.warn(
    "forgot_password_test: skipped: /usr/bin/python3 lacks aiosmtpd (apt-get install python3-aiosmtpd)",
  );
}
/** Opens a mailed link as a person does: the page, then its Confirm button (a form POST). */
async function confirmLink(link: string): Promise<void> {
  const page = await fetch(link, { headers: { Accept: "text/html" } });
  const html = await page.text();
  assertEquals(page.status, 200, html);
  const form = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) {
    form.set(match[1], match[2].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  }
  const done = await fetch(link, {
    method: "POST",
    headers: { Accept: "text/html", "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  assertEquals(done.status, 200, await done.text());
}

Deno.test({
  name: "web password reset: forgot password, the mailed link, a new password, sign in",
  ignore: SKIP_REASON !== null || !SMTP,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const smtp = await startSmtpServer();
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    let server: TestServer | undefined, plain: TestServer | undefined;
    const browser = await launchBrowser();
    try {
      server = await startTestServer({
        port,
        config: {
          http: { public_base_url: base },
          email: {
            smtp_host: "127.0.0.1",
            smtp_port: smtp.port,
            tls: "none",
            from: "Commune chat <noreply@commune.test>",
          },
        },
      });
      plain = await startTestServer();
      const alice = await server.register("alice");
      const op = server.hs.kv.atomic();
      const now = Date.now();
      addThreepid(op, {
        userId: alice.userId,
        address: "alice@example.test",
        validatedTs: now,
        addedTs: now,
      });
      assert((await op.commit()).ok);

      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(`${base}/sign-in`);
      const forgot = page.getByRole("button", { name: "Forgot password?" });
      await forgot.waitFor();
      // A server that sends no mail: the button goes.
      await page.getByLabel("Server").fill(plain.baseUrl);
      await forgot.waitFor({ state: "detached" });
      await page.getByLabel("Server").fill(base);
      await forgot.click();

      const reset = page.getByRole("region", { name: "Reset your password" });
      await reset.getByLabel("Email address").fill("nobody@example.test");
      await reset.getByRole("button", { name: "Send the link" }).click();
      await reset.getByRole("alert").getByText("No account on this server").waitFor();
      await reset.getByLabel("Email address").fill("alice@example.test");
      assertEquals(await violations(page), [], "the reset form");
      await reset.getByRole("button", { name: "Send the link" }).click();
      await reset.getByText("Open the link in the mail").waitFor();

      const mail = await smtp.waitFor((m) => m.subject.includes("Reset your password"));
      const link = /https?:\/\/\S+\/_gemeng\/email\/validate\?\S+/.exec(mail.text)?.[0];
      if (!link?.startsWith(base)) throw new Error(`no link to ${base} in: ${mail.text}`);

      // Not confirmed yet: the app says so and the old password still works.
      await reset.getByLabel("New password", { exact: true }).fill("a-brand-new-secret-1");
      await reset.getByLabel("Confirm the new password").fill("a-brand-new-secret-1");
      await reset.getByRole("button", { name: "Set the new password" }).click();
      await reset.getByRole("alert").getByText("not confirmed yet").waitFor();

      await confirmLink(link);
      await reset.getByRole("button", { name: "Set the new password" }).click();
      await reset.getByText("Your password was changed").waitFor();
      assertEquals(await violations(page), [], "the reset done");
      await reset.getByRole("button", { name: "Back to sign in" }).click();

      const old = await server.request("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "alice" },
          password: alice.password,
        },
      });
      assertEquals(old.status, 403);
      await page.getByLabel("Username").fill("alice");
      await page.getByLabel("Password", { exact: true }).fill("a-brand-new-secret-1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await server?.close();
      await plain?.close();
      await smtp.close();
    }
  },
});
