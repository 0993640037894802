/**
 * Single sign-on with OpenID Connect over real HTTP: gemeng against npm `oidc-provider` run in
 * the test on loopback, the browser played by fetch with cookie jars. Covers the login flows,
 * the redirect with PKCE/state/nonce, the callback (single use, bound to the browser), the
 * `m.login.token` exchange (single use), the confirmation page for unknown clients, and bad
 * input. The same flow runs in Chromium through the web app in tests/browser/sso_test.ts.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { freePort, OIDC_CLIENT, startOidcProvider } from "../support/oidc_provider.ts";

const CALLBACK = "/_gemeng/client/oidc/callback";

/** A browser's cookies, per host, just enough for these flows. */
class CookieJar {
  readonly #cookies = new Map<string, Map<string, string>>();

  store(url: string, res: Response): void {
    const host = new URL(url).host;
    const jar = this.#cookies.get(host) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.#cookies.set(host, jar);
  }

  header(url: string): string {
    const jar = this.#cookies.get(new URL(url).host) ?? new Map();
    return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

async function browse(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string>; cookies?: boolean } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.cookies !== false) headers.Cookie = jar.header(url);
  let body: string | undefined;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  const res = await fetch(url, {
    method: init.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    redirect: "manual",
  });
  jar.store(url, res);
  return res;
}

/**
 * Follows the provider's pages from the authorization URL (login form, consent) until it sends
 * the browser to gemeng's callback; returns that URL.
 */
async function signInAtProvider(jar: CookieJar, authUrl: string, login: string): Promise<string> {
  let url = authUrl;
  let form: Record<string, string> | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await browse(jar, url, { form });
    form = undefined;
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      url = new URL(res.headers.get("Location")!, url).href;
      if (url.includes(CALLBACK)) return url;
      continue;
    }
    const html = await res.text();
    assertEquals(res.status, 200, html.slice(0, 500));
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    assert(action, `no form on ${url}: ${html.slice(0, 300)}`);
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? "";
    form = prompt === "login" ? { prompt, login, password: "any-password" } : { prompt };
    url = new URL(action.replaceAll("&amp;", "&"), url).href;
  }
  throw new Error("the provider never sent the browser back");
}

Deno.test({
  name: "OIDC single sign-on against oidc-provider",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const provider = await startOidcProvider(`${base}${CALLBACK}`);
    let server: TestServer | undefined;
    try {
      server = await startTestServer({
        port,
        config: {
          http: { public_base_url: base },
          auth: {
            sso_client_allowlist: ["https://app.commune.lu/"],
            oidc: [{
              id: "commune",
              name: "Commune account",
              issuer: provider.issuer,
              client_id: OIDC_CLIENT.id,
              client_secret: OIDC_CLIENT.secret,
              scopes: ["openid", "profile", "email"],
              allow_insecure_http: true,
            }],
          },
        },
      });
      const hs = server;
      const redirectPath = "/_matrix/client/v3/login/sso/redirect";

      /** Starts a sign-in as a browser would and returns gemeng's redirect. */
      const start = async (jar: CookieJar, redirectUrl: string) => {
        const res = await browse(
          jar,
          `${base}${redirectPath}/commune?redirectUrl=${encodeURIComponent(redirectUrl)}`,
        );
        assertEquals(res.status, 302, await res.clone().text());
        return new URL(res.headers.get("Location")!);
      };

      await t.step("GET /login offers SSO with the provider and m.login.token", async () => {
        const res = await hs.request("GET", "/_matrix/client/v3/login");
        const sso = res.body.flows.find((f: { type: string }) => f.type === "m.login.sso");
        assertEquals(sso.identity_providers, [{ id: "commune", name: "Commune account" }]);
        assert(res.body.flows.some((f: { type: string }) => f.type === "m.login.token"));
        assert(res.body.flows.some((f: { type: string }) => f.type === "m.login.password"));
      });

      let loginToken = "";
      await t.step("the whole flow: PKCE, state, nonce, account, loginToken", async () => {
        const jar = new CookieJar();
        const auth = await start(jar, `${base}/#/after`);
        assertEquals(`${auth.origin}${auth.pathname}`, `${provider.issuer}/auth`);
        assertEquals(auth.searchParams.get("code_challenge_method"), "S256");
        assert((auth.searchParams.get("code_challenge") ?? "").length >= 43);
        assert((auth.searchParams.get("state") ?? "").length >= 32);
        assert((auth.searchParams.get("nonce") ?? "").length >= 32);
        assertEquals(auth.searchParams.get("redirect_uri"), `${base}${CALLBACK}`);
        const callback = await signInAtProvider(jar, auth.href, "marie");
        const back = await browse(jar, callback);
        assertEquals(back.status, 302, await back.clone().text());
        const target = new URL(back.headers.get("Location")!);
        assertEquals(`${target.origin}${target.pathname}`, `${base}/`);
        loginToken = target.searchParams.get("loginToken") ?? "";
        assert(loginToken.length >= 32);
        assertEquals(target.hash, "#/after");

        // The callback's state is used: the same answer again is refused.
        const replay = await browse(jar, callback);
        assertEquals(replay.status, 400);
        await replay.body?.cancel();
      });

      await t.step("m.login.token signs in once, with the provider's name", async () => {
        const res = await hs.request("POST", "/_matrix/client/v3/login", {
          body: { type: "m.login.token", token: loginToken },
        });
        assertEquals(res.status, 200, JSON.stringify(res.body));
        assertEquals(res.body.user_id, "@marie:localhost");
        const profile = await hs.request("GET", "/_matrix/client/v3/profile/@marie:localhost");
        assertEquals(profile.body.displayname, "Person marie");
        const threepids = await hs.request("GET", "/_matrix/client/v3/account/3pid", {
          token: res.body.access_token,
        });
        assertEquals(threepids.body.threepids[0]?.address, "marie@commune.lu");
        const again = await hs.request("POST", "/_matrix/client/v3/login", {
          body: { type: "m.login.token", token: loginToken },
        });
        assertEquals(again.status, 403);
        assertEquals(again.body.errcode, "M_FORBIDDEN");
        const unknown = await hs.request("POST", "/_matrix/client/v3/login", {
          body: { type: "m.login.token", token: "x".repeat(43) },
        });
        assertEquals(unknown.status, 403);
      });

      await t.step("a second sign-in reaches the same account", async () => {
        const jar = new CookieJar();
        const back = await browse(
          jar,
          await signInAtProvider(jar, (await start(jar, `${base}/`)).href, "marie"),
        );
        const token = new URL(back.headers.get("Location")!).searchParams.get("loginToken");
        const res = await hs.request("POST", "/_matrix/client/v3/login", {
          body: { type: "m.login.token", token },
        });
        assertEquals(res.body.user_id, "@marie:localhost");
      });

      /** A whole SSO sign-in of `login`, as the /login answer. */
      const ssoLogin = async (login: string) => {
        const jar = new CookieJar();
        const back = await browse(
          jar,
          await signInAtProvider(jar, (await start(jar, `${base}/`)).href, login),
        );
        const token = new URL(back.headers.get("Location")!).searchParams.get("loginToken");
        const res = await hs.request("POST", "/_matrix/client/v3/login", {
          body: { type: "m.login.token", token },
        });
        assertEquals(res.status, 200, JSON.stringify(res.body));
        return res.body;
      };

      await t.step("user-interactive auth: an SSO account confirms with its provider", async () => {
        const phone = await ssoLogin("marie");
        const laptop = await ssoLogin("marie");
        const path = `/_matrix/client/v3/devices/${encodeURIComponent(phone.device_id)}`;
        const token = laptop.access_token;
        const first = await hs.request("DELETE", path, { token, body: {} });
        assertEquals(first.status, 401);
        const stages = first.body.flows.map((f: { stages: string[] }) => f.stages.join(","));
        assert(stages.includes("m.login.sso"), JSON.stringify(first.body));
        const session = first.body.session;
        const fallback =
          `${base}/_matrix/client/v3/auth/m.login.sso/fallback/web?session=${session}`;

        // Another person at the provider cannot confirm for marie.
        const other = new CookieJar();
        const toProvider = await browse(other, fallback);
        assertEquals(toProvider.status, 302);
        const refused = await browse(
          other,
          await signInAtProvider(other, toProvider.headers.get("Location")!, "jang"),
        );
        assertEquals(refused.status, 403);
        await refused.body?.cancel();
        const still = await hs.request("DELETE", path, { token, body: { auth: { session } } });
        assertEquals(still.status, 401);

        const jar = new CookieJar();
        const again = await browse(jar, fallback);
        const confirmed = await browse(
          jar,
          await signInAtProvider(jar, again.headers.get("Location")!, "marie"),
        );
        assertEquals(confirmed.status, 200);
        const html = await confirmed.text();
        assert(html.includes('postMessage("authDone"'), html);
        const csp = confirmed.headers.get("Content-Security-Policy") ?? "";
        const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
        assert(nonce && html.includes(`nonce="${nonce}"`), csp);
        const done = await hs.request("DELETE", path, { token, body: { auth: { session } } });
        assertEquals(done.status, 200, JSON.stringify(done.body));

        // Accounts with a password keep the password flow alone.
        const local = await hs.register("localuser");
        const own = await hs.request(
          "DELETE",
          `/_matrix/client/v3/devices/${encodeURIComponent(local.deviceId)}`,
          { token: local.accessToken, body: {} },
        );
        assertEquals(own.body.flows, [{ stages: ["m.login.password"] }]);
      });

      await t.step("the callback refuses a browser that did not start the sign-in", async () => {
        const jar = new CookieJar();
        const callback = await signInAtProvider(jar, (await start(jar, `${base}/`)).href, "jang");
        const res = await browse(jar, callback, { cookies: false });
        assertEquals(res.status, 403);
        await res.body?.cancel();
        assertEquals((await hs.hs.kv.get(["user", "@jang:localhost"])).value, null);
      });

      await t.step("a changed state or a made-up callback is refused", async () => {
        const jar = new CookieJar();
        const callback = new URL(
          await signInAtProvider(jar, (await start(jar, `${base}/`)).href, "jang"),
        );
        callback.searchParams.set("state", "forged-state-value");
        const res = await browse(jar, callback.href);
        assertEquals(res.status, 400);
        await res.body?.cancel();
        const bare = await browse(jar, `${base}${CALLBACK}`);
        assertEquals(bare.status, 400);
        await bare.body?.cancel();
      });

      await t.step("another client's address gets a confirmation page", async () => {
        const jar = new CookieJar();
        const other = "https://elsewhere.example/client";
        const back = await browse(
          jar,
          await signInAtProvider(jar, (await start(jar, other)).href, "marie"),
        );
        assertEquals(back.status, 200);
        const html = await back.text();
        assert(html.includes("elsewhere.example"), html);
        assert(/href="https:\/\/elsewhere\.example\/client\?loginToken=[^"]+"/.test(html), html);
        assertEquals(
          back.headers.get("Content-Security-Policy")?.includes("default-src 'none'"),
          true,
        );

        const listed = await signInAtProvider(
          jar,
          (await start(jar, "https://app.commune.lu/web/")).href,
          "marie",
        );
        const direct = await browse(jar, listed);
        assertEquals(direct.status, 302, "allow-listed clients are not asked");
        assert(
          direct.headers.get("Location")!.startsWith("https://app.commune.lu/web/?loginToken="),
        );
      });

      await t.step("bad redirect requests", async () => {
        const missing = await hs.request("GET", `${redirectPath}/commune`);
        assertEquals(missing.status, 400);
        assertEquals(missing.body.errcode, "M_MISSING_PARAM");
        const script = await hs.request(
          "GET",
          `${redirectPath}/commune?redirectUrl=${encodeURIComponent("javascript:alert(1)")}`,
        );
        assertEquals(script.status, 400);
        assertEquals(script.body.errcode, "M_INVALID_PARAM");
        const unknown = await hs.request("GET", `${redirectPath}/nope?redirectUrl=${base}/`);
        assertEquals(unknown.status, 404);
        const res = await fetch(`${base}${redirectPath}?redirectUrl=${base}/`, {
          redirect: "manual",
        });
        await res.body?.cancel();
        assertEquals(res.status, 302, "one provider: no picker");
      });
    } finally {
      await server?.close();
      await provider.close();
    }
  },
});

Deno.test("SSO redirects are rate-limited like password logins", async () => {
  // The provider is never reached: the limit applies before anything is stored or fetched.
  const server = await startTestServer({
    config: {
      rate_limits: { login: { per_second: 0.001, burst: 2 } },
      auth: {
        oidc: [{
          id: "commune",
          name: "Commune account",
          issuer: `http://127.0.0.1:${freePort()}`,
          client_id: "gemeng",
          allow_insecure_http: true,
        }],
      },
    },
  });
  try {
    const path = `/_matrix/client/v3/login/sso/redirect/commune?redirectUrl=${
      encodeURIComponent(`${server.baseUrl}/`)
    }`;
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await server.request("GET", path)).status);
    assert(!statuses.includes(429), `within the burst: ${statuses}`);
    const limited = await server.request("GET", path);
    assertEquals(limited.status, 429);
    assertEquals(limited.body.errcode, "M_LIMIT_EXCEEDED");
    const sessions = await Array.fromAsync(server.hs.kv.list({ prefix: ["oidc_session"] }));
    assertEquals(sessions.length, 0);
  } finally {
    await server.close();
  }
});
