/**
 * LDAP sign-in (`[auth.ldap]`) against Debian's slapd started by the test: the first login
 * creates the account with the directory's display name, a wrong password is refused, local
 * password accounts still work, and a person removed from the directory is deactivated by the
 * periodic check.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  PEOPLE,
  SLAPD_SKIP_REASON,
  startSlapd,
} from "../support/slapd.ts";
import { directoryFilter, escapeFilterValue } from "../../server/auth/ldap_login.ts";

function passwordLogin(server: TestServer, user: string, password: string) {
  return server.request("POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  });
}

Deno.test("LDAP filter values are escaped (RFC 4515)", () => {
  assertEquals(escapeFilterValue("a*b(c)\\d\0"), "a\\2ab\\28c\\29\\5cd\\00");
});

Deno.test("LDAP filter: the name goes into the template literally", () => {
  const template = "(&(uid={username})(memberOf=cn=matrix))";
  assertEquals(directoryFilter(template, "a$'b"), "(&(uid=a$'b)(memberOf=cn=matrix))");
  assertEquals(directoryFilter(template, "$`$&(x"), "(&(uid=$`$&\\28x)(memberOf=cn=matrix))");
});

Deno.test({
  name: "LDAP sign-in against slapd: creation, wrong password, deactivation when gone",
  ignore: SLAPD_SKIP_REASON !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const slapd = await startSlapd();
    const server = await startTestServer({
      config: {
        auth: {
          ldap: {
            enabled: true,
            url: slapd.url,
            bind_dn: ADMIN_DN,
            bind_password: ADMIN_PASSWORD,
            search_base: PEOPLE,
            filter: "(&(objectClass=inetOrgPerson)(uid={username}))",
            check_interval_ms: 1000,
            timeout_ms: 5000,
          },
        },
      },
    });
    try {
      await slapd.addPerson("marie", { cn: "Marie Weber", password: "marie-pw-1", mail: "m@c.lu" });
      await slapd.addPerson("jang", { cn: "Jang Schmit", password: "jang-pw-2" });

      await t.step("the first login creates the account with the directory's name", async () => {
        const res = await passwordLogin(server, "Marie", "marie-pw-1");
        assertEquals(res.status, 200, JSON.stringify(res.body));
        assertEquals(res.body.user_id, "@marie:localhost");
        const profile = await server.request("GET", "/_matrix/client/v3/profile/@marie:localhost");
        assertEquals(profile.body.displayname, "Marie Weber");
        const threepids = await server.request("GET", "/_matrix/client/v3/account/3pid", {
          token: res.body.access_token,
        });
        assertEquals(
          threepids.body.threepids.map((t: { address: string }) => t.address),
          ["m@c.lu"],
          "the directory's mail is on the account",
        );
        const again = await passwordLogin(server, "@marie:localhost", "marie-pw-1");
        assertEquals(again.status, 200);
        assertEquals(again.body.user_id, "@marie:localhost");
      });

      await t.step("the directory password confirms user-interactive auth", async () => {
        const phone = await passwordLogin(server, "marie", "marie-pw-1");
        const laptop = await passwordLogin(server, "marie", "marie-pw-1");
        const path = `/_matrix/client/v3/devices/${encodeURIComponent(phone.body.device_id)}`;
        const token = laptop.body.access_token;
        const first = await server.request("DELETE", path, { token, body: {} });
        assertEquals(first.status, 401);
        const identifier = { type: "m.id.user", user: "marie" };
        const auth = { type: "m.login.password", identifier, session: first.body.session };
        const wrong = await server.request("DELETE", path, {
          token,
          body: { auth: { ...auth, password: "not-hers" } },
        });
        assertEquals(wrong.status, 401);
        assertEquals(wrong.body.errcode, "M_FORBIDDEN");
        const done = await server.request("DELETE", path, {
          token,
          body: { auth: { ...auth, password: "marie-pw-1" } },
        });
        assertEquals(done.status, 200, JSON.stringify(done.body));
      });

      await t.step("a wrong or empty password is refused and creates nothing", async () => {
        const wrong = await passwordLogin(server, "jang", "not-his");
        assertEquals(wrong.status, 403);
        assertEquals(wrong.body.errcode, "M_FORBIDDEN");
        const empty = await passwordLogin(server, "jang", "");
        assertEquals(empty.status, 403);
        assertEquals((await server.hs.kv.get(["user", "@jang:localhost"])).value, null);
      });

      await t.step("filter characters in the name do not widen the search", async () => {
        const star = await passwordLogin(server, "*", "marie-pw-1");
        assertEquals(star.status, 403);
        const injected = await passwordLogin(server, "marie)(uid=*", "marie-pw-1");
        assertEquals(injected.status, 403);
        // String.replace's patterns ($' is the text after the placeholder) must not reach the
        // filter either: "marie$'" would become "marie))" plus the rest of the template.
        for (const name of ["marie$'", "marie$`", "m$&"]) {
          const patterned = await passwordLogin(server, name, "marie-pw-1");
          assertEquals(patterned.status, 403, `${name}: ${JSON.stringify(patterned.body)}`);
        }
      });

      await t.step("local password accounts work next to the directory", async () => {
        const local = await server.register("localadmin", { password: "local-pw-123" });
        const res = await passwordLogin(server, "localadmin", "local-pw-123");
        assertEquals(res.status, 200, JSON.stringify(res.body));
        assertEquals(res.body.user_id, local.userId);
      });

      await t.step("a person removed from the directory is deactivated by the check", async () => {
        const jang = await passwordLogin(server, "jang", "jang-pw-2");
        assertEquals(jang.status, 200);
        await slapd.deletePerson("marie");
        let user: { deactivated: boolean } | null = null;
        for (let i = 0; i < 100; i++) {
          user = (await server.hs.kv.get<{ deactivated: boolean }>(["user", "@marie:localhost"]))
            .value;
          if (user?.deactivated) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert(user?.deactivated, "marie was not deactivated");
        const whoami = await server.request("GET", "/_matrix/client/v3/account/whoami", {
          token: jang.body.access_token,
        });
        assertEquals(whoami.status, 200, "jang is still in the directory and keeps his session");
        const res = await passwordLogin(server, "marie", "marie-pw-1");
        assertEquals(res.status, 403);
        const jangUser = await server.hs.kv.get<{ deactivated: boolean }>([
          "user",
          "@jang:localhost",
        ]);
        assertEquals(jangUser.value?.deactivated, false);
        const local = await server.hs.kv.get<{ deactivated: boolean }>([
          "user",
          "@localadmin:localhost",
        ]);
        assertEquals(local.value?.deactivated, false, "local accounts are not the directory's");
      });
    } finally {
      await server.close();
      await slapd.close();
    }
  },
});

Deno.test({
  name: "LDAP sign-in over LDAPS and StartTLS with the directory's CA file",
  ignore: SLAPD_SKIP_REASON !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const slapd = await startSlapd({ tls: true });
    await slapd.addPerson("tess", { cn: "Tess Muller", password: "tess-pw-3" });
    const ldap = {
      enabled: true,
      bind_dn: ADMIN_DN,
      bind_password: ADMIN_PASSWORD,
      search_base: PEOPLE,
      check_interval_ms: 0,
      timeout_ms: 5000,
    };
    const variants: [string, Record<string, unknown>, number][] = [
      ["ldaps:// with ca_file", { url: slapd.ldapsUrl, ca_file: slapd.caFile }, 200],
      ["StartTLS with ca_file", { url: slapd.url, starttls: true, ca_file: slapd.caFile }, 200],
      // Without the CA the certificate is not trusted: nothing is sent to the directory.
      ["ldaps:// without the CA", { url: slapd.ldapsUrl }, 403],
    ];
    try {
      for (const [name, settings, status] of variants) {
        await t.step(name, async () => {
          const server = await startTestServer({
            config: { auth: { ldap: { ...ldap, ...settings } } },
          });
          try {
            const res = await passwordLogin(server, "tess", "tess-pw-3");
            assertEquals(res.status, status, JSON.stringify(res.body));
            if (status === 200) assertEquals(res.body.user_id, "@tess:localhost");
          } finally {
            await server.close();
          }
        });
      }
    } finally {
      await slapd.close();
    }
  },
});
