/**
 * Acknowledged writes are durable: a real `deno run -A main.ts serve` process is SIGKILLed
 * while clients send, restarted on the same data directory, and every event_id it had
 * acknowledged with a 200 must be retrievable, and searchable (search postings still in memory
 * at the kill are written again at start-up).
 */
import { assert, assertEquals } from "../unit/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Running {
  child: Deno.ChildProcess;
  baseUrl: string;
}

async function startServer(configPath: string, port: number): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "serve", "--config", configPath],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 60_000;
  while (!seen.includes("listening")) {
    const { value, done } = await reader.read();
    if (done || Date.now() > deadline) throw new Error(`server did not start: ${seen}`);
    seen += value;
  }
  // Keep draining stderr so the child never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* killed */ }
  })();
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function register(baseUrl: string, name: string): Promise<string> {
  const body = { username: name, password: `pw-${name}-long-enough` };
  const first = await call(baseUrl, "POST", "/_matrix/client/v3/register", { body });
  const done = await call(baseUrl, "POST", "/_matrix/client/v3/register", {
    body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } },
  });
  assertEquals(done.status, 200, JSON.stringify(done.body));
  return done.body.access_token as string;
}

Deno.test("durability: SIGKILL while clients send loses no acknowledged event", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-kill-" });
  const port = freePort();
  const configPath = `${dataDir}/gemeng.toml`;
  await Deno.writeTextFile(
    configPath,
    [
      `server_name = "localhost"`,
      `data_dir = "${dataDir}/data"`,
      `[http]`,
      `listen = "127.0.0.1:${port}"`,
      `[registration]`,
      `enabled = true`,
      `require_token = false`,
      `[rate_limits.send]`,
      `per_second = 100000`,
      `burst = 100000`,
      `[rate_limits.register]`,
      `per_second = 1000`,
      `burst = 1000`,
    ].join("\n") + "\n",
  );
  let server = await startServer(configPath, port);
  const acknowledged: { roomId: string; eventId: string; token: string; word: string }[] = [];
  try {
    const tokens = [];
    for (const name of ["k1", "k2", "k3", "k4"]) tokens.push(await register(server.baseUrl, name));
    const rooms: string[] = [];
    for (const token of tokens) {
      const created = await call(server.baseUrl, "POST", "/_matrix/client/v3/createRoom", {
        token,
        body: {},
      });
      assertEquals(created.status, 200);
      rooms.push(created.body.room_id as string);
    }
    let stop = false;
    const clients = tokens.flatMap((token, i) =>
      [0, 1, 2].map(async (lane) => {
        let n = 0;
        while (!stop) {
          // A word no other message has (nor starts with), to find this one by search.
          const word = `w${i}x${lane}x${n}z`;
          try {
            const res = await call(
              server.baseUrl,
              "PUT",
              `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[i])}/send/m.room.message/` +
                `l${lane}-${n++}`,
              { token, body: { msgtype: "m.text", body: `lane ${lane} message ${word}` } },
            );
            if (res.status === 200) {
              acknowledged.push({
                roomId: rooms[i],
                eventId: res.body.event_id as string,
                token,
                word,
              });
            }
          } catch {
            return; // the connection died with the server
          }
        }
      })
    );
    // Kill mid-flight once a good number of sends were acknowledged.
    while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 10));
    server.child.kill("SIGKILL");
    await server.child.status;
    stop = true;
    await Promise.all(clients);
    const count = acknowledged.length;
    assert(count >= 300, `acknowledged ${count}`);

    server = await startServer(configPath, port);
    const missing: string[] = [];
    for (const { roomId, eventId, token } of acknowledged) {
      const got = await call(
        server.baseUrl,
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${
          encodeURIComponent(eventId)
        }`,
        { token },
      );
      if (got.status !== 200) missing.push(`${eventId}: ${got.status}`);
    }
    assertEquals(missing, [], `${missing.length} of ${count} acknowledged events lost`);
    // The newest acknowledged messages (their postings were likely still in memory) and a
    // sample of the others are found by their word.
    const sample = [...acknowledged.slice(-40), ...acknowledged.filter((_, i) => i % 25 === 0)];
    const unfound: string[] = [];
    for (const { eventId, token, word } of sample) {
      const res = await call(server.baseUrl, "POST", "/_matrix/client/v3/search", {
        token,
        body: { search_categories: { room_events: { search_term: word } } },
      });
      const results = (res.body.search_categories as {
        room_events: { results: { result: { event_id: string } }[] };
      }).room_events.results;
      if (results.length !== 1 || results[0].result.event_id !== eventId) unfound.push(word);
    }
    assertEquals(unfound, [], `${unfound.length} of ${sample.length} not found by search`);
    // The rooms still accept events after the crash.
    const after = await call(
      server.baseUrl,
      "PUT",
      `/_matrix/client/v3/rooms/${encodeURIComponent(rooms[0])}/send/m.room.message/after`,
      { token: tokens[0], body: { msgtype: "m.text", body: "after the crash" } },
    );
    assertEquals(after.status, 200, JSON.stringify(after.body));
  } finally {
    try {
      server.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await server.child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
