/**
 * Email over a real SMTP server (Debian's aiosmtpd on loopback, tests/support/smtp_server.ts):
 * adding an address (the mailed link confirms it), password reset by email (the link in the
 * mail, then `/account/password` with `m.login.email.identity`; the new password logs in, the
 * old one no longer does), 3PID listing and deletion, notification mails after the delay (with
 * no content from encrypted rooms, nothing about read messages, an unsubscribe link that works),
 * and a server without `[email]`.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { type ReceivedMail, smtpAvailable, startSmtpServer } from "../support/smtp_server.ts";
import { CA_MISSING, testCa } from "../federation/support/peers.ts";
import { updateUser } from "../../server/store/accounts.ts";

const available = await smtpAvailable();
if (available && CA_MISSING !== null) {
  console.warn(`email_test: the STARTTLS test is skipped: ${CA_MISSING}`);
}
if (!available) {
  console.warn(
    "email_test: skipped: /usr/bin/python3 lacks aiosmtpd (apt-get install python3-aiosmtpd)",
  );
}

function assertStringIncludes(text: string, part: string): void {
  assert(text.includes(part), `expected to find ${JSON.stringify(part)} in: ${text}`);
}

/** Where mail links point (`[email] public_link_base`). */
const LINK_BASE = "https://chat.commune.test";

/** The link in a mail, pointed at the test server instead of the public name. */
function linkIn(mail: ReceivedMail, path: string, server: TestServer): string {
  const match = new RegExp(`https?://\\S+${path}\\?\\S+`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in: ${mail.text}`);
  assert(match[0].startsWith(`${LINK_BASE}${path}?`), match[0]);
  return server.baseUrl + match[0].slice(LINK_BASE.length);
}

/** Opens a mailed link as a person does: the page, then its button (a form POST). */
async function followLink(link: string): Promise<string> {
  const browser = { Accept: "text/html,application/xhtml+xml" };
  const page = await fetch(link, { headers: browser });
  const html = await page.text();
  assertEquals(page.status, 200, html);
  assertStringIncludes(page.headers.get("content-type") ?? "", "text/html");
  assertStringIncludes(html, '<form method="post">');
  const form = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)) {
    form.set(match[1], match[2].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))));
  }
  const done = await fetch(link, {
    method: "POST",
    headers: { ...browser, "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  const text = await done.text();
  assertEquals(done.status, 200, text);
  return text;
}

async function uiaPassword(
  server: TestServer,
  user: TestUser,
  path: string,
  body: Record<string, unknown>,
) {
  const first = await server.request("POST", path, { token: user.accessToken, body });
  assertEquals(first.status, 401, JSON.stringify(first.body));
  return await server.request("POST", path, {
    token: user.accessToken,
    body: {
      ...body,
      auth: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: user.userId },
        password: user.password,
        session: first.body.session,
      },
    },
  });
}

Deno.test({
  name: "email: addresses, password reset and notification mails over SMTP",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const smtp = await startSmtpServer();
    const server = await startTestServer({
      config: {
        email: {
          smtp_host: "127.0.0.1",
          smtp_port: smtp.port,
          tls: "none",
          from: "Commune chat <noreply@commune.test>",
          app_name: "Commune chat",
          notif_for_new_users: true,
          notif_delay_ms: 1500,
          public_link_base: LINK_BASE,
        },
      },
    });
    const plain = await startTestServer();
    try {
      const alice = await server.register("alice");
      const bob = await server.register("bob");
      const secret = "alice-secret-1";

      await t.step("capabilities say addresses can change", async () => {
        const caps = await server.request("GET", "/_matrix/client/v3/capabilities", {
          token: alice.accessToken,
        });
        assertEquals(caps.body.capabilities["m.3pid_changes"].enabled, true);
      });

      let addSid = "";
      await t.step("an address is added once its mailed link is confirmed", async () => {
        const bad = await server.request(
          "POST",
          "/_matrix/client/v3/account/3pid/email/requestToken",
          {
            body: {
              client_secret: "no spaces allowed",
              email: "alice@example.test",
              send_attempt: 1,
            },
          },
        );
        assertEquals(bad.body.errcode, "M_INVALID_PARAM");
        const body = { client_secret: secret, email: "Alice@Example.test", send_attempt: 1 };
        const res = await server.request(
          "POST",
          "/_matrix/client/v3/account/3pid/email/requestToken",
          {
            body,
          },
        );
        assertEquals(res.status, 200, JSON.stringify(res.body));
        addSid = res.body.sid;
        assert(/^[0-9a-zA-Z.=_-]{1,255}$/.test(addSid), addSid);
        const mail = await smtp.waitFor((m) => m.subject.includes("Confirm your email address"));
        assertEquals(mail.rcpt_tos, ["alice@example.test"]);
        assertStringIncludes(mail.from, "noreply@commune.test");
        // The same attempt again: the same session, and no second mail.
        const again = await server.request(
          "POST",
          "/_matrix/client/v3/account/3pid/email/requestToken",
          {
            body,
          },
        );
        assertEquals(again.body.sid, addSid);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assertEquals((await smtp.mails()).length, 1);

        // Not confirmed yet: refused after the password stage.
        const early = await uiaPassword(server, alice, "/_matrix/client/v3/account/3pid/add", {
          sid: addSid,
          client_secret: secret,
        });
        assertEquals(early.status, 400);
        assertEquals(early.body.errcode, "M_THREEPID_AUTH_FAILED");

        const page = await followLink(linkIn(mail, "/_gemeng/email/validate", server));
        assertStringIncludes(page, "Email address confirmed");
        const wrongSecret = await uiaPassword(
          server,
          alice,
          "/_matrix/client/v3/account/3pid/add",
          {
            sid: addSid,
            client_secret: "someone-else",
          },
        );
        assertEquals(wrongSecret.body.errcode, "M_THREEPID_AUTH_FAILED");
        const added = await uiaPassword(server, alice, "/_matrix/client/v3/account/3pid/add", {
          sid: addSid,
          client_secret: secret,
        });
        assertEquals(added.status, 200, JSON.stringify(added.body));
        const list = await server.request("GET", "/_matrix/client/v3/account/3pid", {
          token: alice.accessToken,
        });
        assertEquals(list.body.threepids.length, 1);
        assertEquals(list.body.threepids[0].medium, "email");
        assertEquals(list.body.threepids[0].address, "alice@example.test");
        assert(list.body.threepids[0].validated_at > 0);
        // Synapse's admin API shows it.
        await updateUser(server.hs.kv, bob.userId, (user) => ({ ...user, admin: true }));
        const details = await server.request(
          "GET",
          `/_synapse/admin/v2/users/${encodeURIComponent(alice.userId)}`,
          { token: bob.accessToken },
        );
        assertEquals(details.body.threepids, list.body.threepids);
        // notif_for_new_users: the address got an email pusher.
        const pushers = await server.request("GET", "/_matrix/client/v3/pushers", {
          token: alice.accessToken,
        });
        assertEquals(pushers.body.pushers.map((p: { kind: string }) => p.kind), ["email"]);
        // Another account cannot take the address.
        const taken = await server.request(
          "POST",
          "/_matrix/client/v3/account/3pid/email/requestToken",
          {
            body: { client_secret: "bob-secret", email: "alice@example.test", send_attempt: 1 },
          },
        );
        assertEquals(taken.body.errcode, "M_THREEPID_IN_USE");
        // Nothing is bound through an identity server.
        const bind = await server.request("POST", "/_matrix/client/v3/account/3pid/bind", {
          token: alice.accessToken,
          body: {
            sid: addSid,
            client_secret: secret,
            id_server: "id.example",
            id_access_token: "x",
          },
        });
        assertEquals(bind.body.errcode, "M_SERVER_NOT_TRUSTED");
      });

      await t.step("notification mail after the delay, unsubscribe link", async () => {
        const garden = await server.request("POST", "/_matrix/client/v3/createRoom", {
          token: bob.accessToken,
          // Public: not encrypted by default (`[e2ee] default_for = "invite"`).
          body: { name: "Garden club", invite: [alice.userId], preset: "public_chat" },
        });
        const secretRoom = await server.request("POST", "/_matrix/client/v3/createRoom", {
          token: bob.accessToken,
          body: {
            name: "Secret plans",
            invite: [alice.userId],
            initial_state: [{
              type: "m.room.encryption",
              state_key: "",
              content: { algorithm: "m.megolm.v1.aes-sha2" },
            }],
          },
        });
        const readRoom = await server.request("POST", "/_matrix/client/v3/createRoom", {
          token: bob.accessToken,
          body: { name: "Already read", invite: [alice.userId], preset: "public_chat" },
        });
        for (const room of [garden, secretRoom, readRoom]) {
          const joined = await server.request(
            "POST",
            `/_matrix/client/v3/join/${room.body.room_id}`,
            {
              token: alice.accessToken,
              body: {},
            },
          );
          assertEquals(joined.status, 200);
        }
        const send = (roomId: string, type: string, content: unknown, txn: string) =>
          server.request("PUT", `/_matrix/client/v3/rooms/${roomId}/send/${type}/${txn}`, {
            token: bob.accessToken,
            body: content,
          });
        await send(garden.body.room_id, "m.room.message", {
          msgtype: "m.text",
          body: "Planting <tulips> on Saturday",
        }, "t1");
        await send(secretRoom.body.room_id, "m.room.encrypted", {
          algorithm: "m.megolm.v1.aes-sha2",
          ciphertext: "CIPHERTEXT-MUST-NOT-APPEAR",
          device_id: "BOBDEVICE",
          sender_key: "key",
          session_id: "session",
        }, "t2");
        const read = await send(readRoom.body.room_id, "m.room.message", {
          msgtype: "m.text",
          body: "this one was read",
        }, "t3");
        const receipt = await server.request(
          "POST",
          `/_matrix/client/v3/rooms/${readRoom.body.room_id}/receipt/m.read/${read.body.event_id}`,
          { token: alice.accessToken, body: {} },
        );
        assertEquals(receipt.status, 200);
        const sentAt = Date.now();
        const mail = await smtp.waitFor((m) => m.subject.includes("unread message"), 15_000);
        assert(Date.now() - sentAt >= 1000, "mailed before the delay");
        assertEquals(mail.rcpt_tos, ["alice@example.test"]);
        assertEquals(mail.subject, "[Commune chat] 2 unread messages", mail.text);
        assertStringIncludes(mail.text, "You have 1 unread message in Garden club.");
        assertStringIncludes(mail.text, "Planting <tulips> on Saturday");
        assertStringIncludes(mail.html, "Planting &#60;tulips&#62; on Saturday");
        assertStringIncludes(mail.text, "You have 1 unread message in Secret plans.");
        assert(!mail.text.includes("CIPHERTEXT") && !mail.html.includes("CIPHERTEXT"));
        assert(!mail.text.includes("Already read"), mail.text);
        const unsubscribe = linkIn(mail, "/_gemeng/email/unsubscribe", server);
        assertEquals(
          mail.headers["List-Unsubscribe"].trim(),
          `<${LINK_BASE}${unsubscribe.slice(server.baseUrl.length)}>`,
        );
        assertEquals(mail.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        // A forged link does nothing.
        const forged = await fetch(unsubscribe.replace(/sig=[^&]+/, "sig=forged"), {
          method: "POST",
        });
        assertEquals(forged.status, 400);
        assertEquals((await forged.json()).errcode, "M_INVALID_PARAM");
        const page = await followLink(unsubscribe);
        assertStringIncludes(page, "Unsubscribed");
        const pushers = await server.request("GET", "/_matrix/client/v3/pushers", {
          token: alice.accessToken,
        });
        assertEquals(pushers.body.pushers, []);
      });

      await t.step("password reset by email", async () => {
        const unknown = await server.request(
          "POST",
          "/_matrix/client/v3/account/password/email/requestToken",
          { body: { client_secret: "x1", email: "nobody@example.test", send_attempt: 1 } },
        );
        assertEquals(unknown.status, 400);
        assertEquals(unknown.body.errcode, "M_THREEPID_NOT_FOUND");
        const resetSecret = "reset-secret";
        const res = await server.request(
          "POST",
          "/_matrix/client/v3/account/password/email/requestToken",
          {
            body: {
              client_secret: resetSecret,
              email: "ALICE@example.test",
              send_attempt: 1,
              next_link: "https://app.example.test/done",
            },
          },
        );
        assertEquals(res.status, 200, JSON.stringify(res.body));
        const sid = res.body.sid;
        const mail = await smtp.waitFor((m) => m.subject.includes("Reset your password"));
        assertStringIncludes(mail.text, alice.userId);
        const reset = (auth?: Record<string, unknown>) =>
          server.request("POST", "/_matrix/client/v3/account/password", {
            body: { new_password: "brand-new-password", auth },
          });
        const challenge = await reset();
        assertEquals(challenge.status, 401);
        assertEquals(challenge.body.flows, [{ stages: ["m.login.email.identity"] }]);
        const creds = { sid, client_secret: resetSecret };
        const early = await reset({
          type: "m.login.email.identity",
          threepid_creds: creds,
          session: challenge.body.session,
        });
        assertEquals(early.status, 401);
        assertEquals(early.body.errcode, "M_UNAUTHORIZED");
        // The password is unchanged until the link is confirmed.
        await server.login("alice", alice.password);

        const page = await followLink(linkIn(mail, "/_gemeng/email/validate", server));
        assertStringIncludes(page, "https://app.example.test/done");
        const done = await reset({
          type: "m.login.email.identity",
          threepid_creds: { ...creds, client_secret: "wrong" },
          session: challenge.body.session,
        });
        assertEquals(done.status, 401);
        const ok = await reset({
          type: "m.login.email.identity",
          threepid_creds: creds,
          session: challenge.body.session,
        });
        assertEquals(ok.status, 200, JSON.stringify(ok.body));
        const old = await server.request("POST", "/_matrix/client/v3/login", {
          body: {
            type: "m.login.password",
            identifier: { type: "m.id.user", user: "alice" },
            password: alice.password,
          },
        });
        assertEquals(old.status, 403);
        const fresh = await server.login("alice", "brand-new-password");
        assertEquals(fresh.userId, alice.userId);
        // logout_devices defaults to true: the old session ended.
        const whoami = await server.request("GET", "/_matrix/client/v3/account/whoami", {
          token: alice.accessToken,
        });
        assertEquals(whoami.status, 401);
        // The link resets once.
        const again = await server.request("POST", "/_matrix/client/v3/account/password", {
          body: {
            new_password: "third-password",
            auth: { type: "m.login.email.identity", threepid_creds: creds },
          },
        });
        assertEquals(again.status, 401);
        assertEquals(again.body.errcode, "M_UNAUTHORIZED");
        const used = await fetch(linkIn(mail, "/_gemeng/email/validate", server), {
          headers: { Accept: "text/html" },
        });
        assertEquals(used.status, 400);
        assertStringIncludes(await used.text(), "This link does not work");
        // The address identifies the account at login (m.id.thirdparty).
        const byEmail = (address: string) =>
          server.request("POST", "/_matrix/client/v3/login", {
            body: {
              type: "m.login.password",
              identifier: { type: "m.id.thirdparty", medium: "email", address },
              password: "brand-new-password",
            },
          });
        const viaEmail = await byEmail("Alice@Example.test");
        assertEquals(viaEmail.status, 200, JSON.stringify(viaEmail.body));
        assertEquals(viaEmail.body.user_id, alice.userId);
        assertEquals((await byEmail("nobody@example.test")).status, 403);
        alice.accessToken = fresh.accessToken;
        alice.password = "brand-new-password";
      });

      await t.step("deleting the address; rate limits", async () => {
        const deleted = await server.request("POST", "/_matrix/client/v3/account/3pid/delete", {
          token: alice.accessToken,
          body: { medium: "email", address: "alice@example.test" },
        });
        assertEquals(deleted.body, { id_server_unbind_result: "no-support" });
        const list = await server.request("GET", "/_matrix/client/v3/account/3pid", {
          token: alice.accessToken,
        });
        assertEquals(list.body.threepids, []);
        const gone = await server.request(
          "POST",
          "/_matrix/client/v3/account/password/email/requestToken",
          { body: { client_secret: "x2", email: "alice@example.test", send_attempt: 1 } },
        );
        assertEquals(gone.body.errcode, "M_THREEPID_NOT_FOUND");
        // Five requests from this address so far: the sixth waits.
        const limited = await server.request(
          "POST",
          "/_matrix/client/v3/account/3pid/email/requestToken",
          { body: { client_secret: "x3", email: "carol@example.test", send_attempt: 1 } },
        );
        assertEquals(limited.status, 429);
        assertEquals(limited.body.errcode, "M_LIMIT_EXCEEDED");
      });

      await t.step("a server without [email] sends nothing", async () => {
        const carol = await plain.register("carol");
        const caps = await plain.request("GET", "/_matrix/client/v3/capabilities", {
          token: carol.accessToken,
        });
        assertEquals(caps.body.capabilities["m.3pid_changes"].enabled, false);
        const req = await plain.request(
          "POST",
          "/_matrix/client/v3/account/password/email/requestToken",
          {
            body: { client_secret: "s", email: "carol@example.test", send_attempt: 1 },
          },
        );
        assertEquals(req.body.errcode, "M_THREEPID_MEDIUM_NOT_SUPPORTED");
        const reset = await plain.request("POST", "/_matrix/client/v3/account/password", {
          body: { new_password: "x" },
        });
        assertEquals(reset.status, 401);
        assertEquals(reset.body.errcode, "M_MISSING_TOKEN");
      });
    } finally {
      await server.close();
      await plain.close();
      await smtp.close();
    }
  },
});

Deno.test({
  name:
    "email: STARTTLS with the SMTP server's CA trusted; an untrusted certificate sends nothing; no reset for accounts without a password",
  ignore: !available || CA_MISSING !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const ca = await testCa();
    const smtp = await startSmtpServer({ tls: { certFile: ca.certFile, keyFile: ca.keyFile } });
    const email = {
      smtp_host: "127.0.0.1",
      smtp_port: smtp.port,
      tls: "starttls",
      from: "noreply@commune.test",
      public_link_base: LINK_BASE,
    };
    const trusting = await startTestServer({
      config: { email: { ...email, trusted_ca: ca.caFile } },
    });
    const untrusting = await startTestServer({ config: { email } });
    try {
      const body = { client_secret: "tls-secret", email: "dan@example.test", send_attempt: 1 };
      const path = "/_matrix/client/v3/account/3pid/email/requestToken";
      const refused = await untrusting.request("POST", path, { body });
      assertEquals(refused.status, 502);
      assertEquals(refused.body.errcode, "M_UNKNOWN");
      assertEquals((await smtp.mails()).length, 0);
      const sent = await trusting.request("POST", path, { body });
      assertEquals(sent.status, 200, JSON.stringify(sent.body));
      const mail = await smtp.waitFor((m) => m.rcpt_tos.includes("dan@example.test"));
      assertStringIncludes(mail.subject, "Confirm your email address");
      // An account that signs in through its organisation (no local password) gets no reset.
      const dan = await trusting.register("dan");
      await followLink(linkIn(mail, "/_gemeng/email/validate", trusting));
      const added = await uiaPassword(trusting, dan, "/_matrix/client/v3/account/3pid/add", {
        sid: sent.body.sid,
        client_secret: "tls-secret",
      });
      assertEquals(added.status, 200, JSON.stringify(added.body));
      await updateUser(trusting.hs.kv, dan.userId, (user) => ({ ...user, passwordHash: null }));
      const reset = await trusting.request(
        "POST",
        "/_matrix/client/v3/account/password/email/requestToken",
        { body: { client_secret: "s2", email: "dan@example.test", send_attempt: 1 } },
      );
      assertEquals([reset.status, reset.body.errcode], [403, "M_FORBIDDEN"]);
    } finally {
      await trusting.close();
      await untrusting.close();
      await smtp.close();
    }
  },
});
