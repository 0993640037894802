/**
 * No call to any third party by default. The server runs as a separate `deno run main.ts serve`
 * process with the default config (only its name, data directory and listen address set, and
 * open registration so the test can sign up), under Deno's permission system: its network
 * permission is `127.0.0.1` only, and `DENO_AUDIT_PERMISSIONS` writes every permission check,
 * allowed or refused, to a file. The test then goes through the everyday flows (register, log in,
 * create a room, invite, send, upload and download, sync, push rules, profile, VoIP servers, a
 * URL preview request, log out) and checks that each worked and that the audit holds no network
 * access to anything but the server's own listener: no identity server, no URL preview fetch,
 * no TURN, no push gateway, no DNS lookup, no federation.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

Deno.test({
  name: "default config: everyday flows work and the server connects to nothing but itself",
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-no-third-party-" });
    const port = freePort();
    const audit = `${dir}/audit.jsonl`;
    await Deno.writeTextFile(
      `${dir}/gemeng.toml`,
      [
        `server_name = "commune.example"`,
        `data_dir = "${dir}/data"`,
        "[http]",
        `listen = "127.0.0.1:${port}"`,
        "[registration]",
        "enabled = true",
        "require_token = false",
        "",
      ].join("\n"),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-net=127.0.0.1",
        "main.ts",
        "serve",
        "--config",
        `${dir}/gemeng.toml`,
      ],
      cwd: ROOT,
      env: { DENO_AUDIT_PERMISSIONS: audit, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output: string[] = [];
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) output.push(decoder.decode(chunk, { stream: true }));
    };
    const reading = Promise.all([collect(child.stdout), collect(child.stderr)]);
    const base = `http://127.0.0.1:${port}`;
    const call = async (
      method: string,
      path: string,
      options: { body?: unknown; token?: string; raw?: BodyInit; type?: string } = {},
    ): Promise<Answer> => {
      const headers: Record<string, string> = {};
      if (options.token) headers.Authorization = `Bearer ${options.token}`;
      if (options.type) headers["Content-Type"] = options.type;
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: options.raw ??
          (options.body === undefined ? undefined : JSON.stringify(options.body)),
      });
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch { /* bytes */ }
      return { status: res.status, body: body ?? text };
    };
    try {
      const deadline = Date.now() + 60_000;
      while (true) {
        const up = await fetch(`${base}/_matrix/client/versions`).then((r) => r.ok, () => false);
        if (up) break;
        if (Date.now() > deadline) throw new Error(`server did not start: ${output.join("")}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      const register = async (username: string) => {
        const body = { username, password: `${username}-password-1` };
        const first = await call("POST", "/_matrix/client/v3/register", { body });
        assertEquals(first.status, 401, JSON.stringify(first.body));
        const done = await call("POST", "/_matrix/client/v3/register", {
          body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
        });
        assertEquals(done.status, 200, JSON.stringify(done.body));
        return done.body as { user_id: string; access_token: string };
      };
      const anna = await register("anna");
      const ben = await register("ben");
      const login = await call("POST", "/_matrix/client/v3/login", {
        body: {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: "anna" },
          password: "anna-password-1",
        },
      });
      assertEquals(login.status, 200, JSON.stringify(login.body));
      const token = login.body.access_token as string;

      const room = await call("POST", "/_matrix/client/v3/createRoom", {
        token,
        body: { name: "Conseil", invite: [ben.user_id] },
      });
      assertEquals(room.status, 200, JSON.stringify(room.body));
      const roomId = encodeURIComponent(room.body.room_id);
      const joined = await call("POST", `/_matrix/client/v3/rooms/${roomId}/join`, {
        token: ben.access_token,
        body: {},
      });
      assertEquals(joined.status, 200);
      const sent = await call("PUT", `/_matrix/client/v3/rooms/${roomId}/send/m.room.message/t1`, {
        token,
        body: { msgtype: "m.text", body: "See https://example.org/agenda for the agenda" },
      });
      assertEquals(sent.status, 200);

      const bytes = "agenda of the council";
      const uploaded = await call("POST", "/_matrix/media/v3/upload?filename=agenda.txt", {
        token,
        raw: bytes,
        type: "text/plain",
      });
      assertEquals(uploaded.status, 200, JSON.stringify(uploaded.body));
      const mxc = (uploaded.body.content_uri as string).slice("mxc://".length);
      const downloaded = await call("GET", `/_matrix/client/v1/media/download/${mxc}`, {
        token: ben.access_token,
      });
      assertEquals([downloaded.status, downloaded.body], [200, bytes]);

      const sync = await call("GET", "/_matrix/client/v3/sync?timeout=0", {
        token: ben.access_token,
      });
      assertEquals(sync.status, 200);
      const timeline = sync.body.rooms.join[room.body.room_id].timeline.events;
      assert(timeline.some((e: { event_id: string }) => e.event_id === sent.body.event_id));

      // URL previews are off: the server answers without fetching the page.
      const preview = await call(
        "GET",
        `/_matrix/client/v1/media/preview_url?url=${encodeURIComponent("https://example.org/")}`,
        { token },
      );
      assertEquals([preview.status, preview.body.errcode], [404, "M_UNRECOGNIZED"]);
      const rules = await call("GET", "/_matrix/client/v3/pushrules/", { token });
      assertEquals(rules.status, 200);
      assert(Array.isArray(rules.body.global.override));
      const pushers = await call("GET", "/_matrix/client/v3/pushers", { token });
      assertEquals(pushers.body, { pushers: [] });
      // No TURN server is configured, so none is handed out.
      const turn = await call("GET", "/_matrix/client/v3/voip/turnServer", { token });
      assert(turn.status === 200 || turn.status === 404, JSON.stringify(turn.body));
      assertEquals(turn.body.uris ?? [], []);
      // No identity server: neither advertised nor used for 3PID binding.
      const wellKnown = await call("GET", "/.well-known/matrix/client");
      assertEquals(wellKnown.body?.["m.identity_server"], undefined);
      const profile = await call(
        "PUT",
        `/_matrix/client/v3/profile/${encodeURIComponent(anna.user_id)}/displayname`,
        { token, body: { displayname: "Anna" } },
      );
      assertEquals(profile.status, 200);
      const search = await call("POST", "/_matrix/client/v3/user_directory/search", {
        token,
        body: { search_term: "ben" },
      });
      assertEquals(search.status, 200);
      const logout = await call("POST", "/_matrix/client/v3/logout", { token, body: {} });
      assertEquals(logout.status, 200);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    }

    // Every network access the process made or tried, from Deno's audit of permission checks.
    const entries = (await Deno.readTextFile(audit)).trim().split("\n").map((line) =>
      JSON.parse(line) as { permission: string; value: string | null }
    );
    const network = entries.filter((e) => e.permission === "net");
    assert(network.length > 0, "the audit saw the server's own listener");
    const ours = new Set([`127.0.0.1:${port}`]);
    const elsewhere = network.filter((e) => !ours.has(e.value ?? ""));
    assertEquals(elsewhere, [], `outbound network access: ${JSON.stringify(elsewhere)}`);
    assert(!/NotCapable|PermissionDenied/.test(output.join("")), output.join(""));
    await Deno.remove(dir, { recursive: true });
  },
});
