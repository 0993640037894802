/**
 * The GDPR export over real HTTP and the real CLI, one server on an on-disk KV: the archive
 * (gzip-compressed JSON lines) holds the user's profile, account data, memberships, own events,
 * devices (without token hashes), pushers, reports and uploaded media with their bytes, and
 * nothing of other users' private messages, account data or media. Admins only; the CLI
 * (`user export NAME FILE`) writes the same archive.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { runCli } from "../../server/cli.ts";
import { decodeBase64 } from "../../crypto/base64.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

let t: TestServer;

async function call(method: string, path: string, user: TestUser, body?: unknown) {
  return await t.request(method, path, { token: user.accessToken, body });
}

async function say(user: TestUser, roomId: string, content: Record<string, unknown>) {
  const res = await call(
    "PUT",
    `${V3}/rooms/${enc(roomId)}/send/m.room.message/${crypto.randomUUID()}`,
    user,
    content,
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id as string;
}

async function upload(user: TestUser, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const res = await fetch(`${t.baseUrl}/_matrix/media/v3/upload?filename=photo.jpg`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.accessToken}`, "Content-Type": "image/jpeg" },
    body: bytes,
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return body.content_uri;
}

// deno-lint-ignore no-explicit-any
type Line = Record<string, any>;

async function linesOf(
  gzipped: ReadableStream<Uint8Array<ArrayBuffer>>,
): Promise<{ text: string; lines: Line[] }> {
  const text = await new Response(gzipped.pipeThrough(new DecompressionStream("gzip"))).text();
  return { text, lines: text.trimEnd().split("\n").map((l) => JSON.parse(l)) };
}

/** The checks both ways of exporting must pass. */
function checkArchive(
  archive: { text: string; lines: Line[] },
  facts: {
    alice: TestUser;
    own: string[];
    photo: Uint8Array<ArrayBuffer>;
    photoUri: string;
    secrets: string[];
  },
) {
  const { lines, text } = archive;
  const { alice } = facts;
  assertEquals(lines[0].kind, "export");
  assertEquals(lines[0].format, "gemeng-user-export");
  assertEquals(lines[0].user_id, alice.userId);
  assertEquals(lines.at(-1)!.kind, "end");
  assertEquals(lines.at(-1)!.lines, lines.length - 1);
  const of = (kind: string) => lines.filter((l) => l.kind === kind);
  assertEquals(of("profile")[0].profile.displayname, "Alice Example");
  assert(
    of("account_data").some((l) =>
      l.type === "org.example.diary" && l.content.text === "dear diary"
    ),
  );
  assert(of("device").some((l) => l.device_id === alice.deviceId));
  assertEquals(of("pusher").length, 1);
  assertEquals(of("report").length, 1);
  assertEquals(of("report")[0].report.reason, "alice reports this");
  assertEquals(of("membership").map((l) => l.membership), ["join"]);
  assertEquals(of("filter").length, 1);
  assertEquals(of("filter")[0].value.room.timeline.limit, 7);
  // Alice's receipt only, not Bob's in the same room.
  assertEquals(of("receipt").length, 1);
  const events = of("event").map((l) => l.event);
  for (const id of facts.own) assert(events.some((e) => e.event_id === id), id);
  assert(events.every((e) => e.sender === alice.userId));
  // The photo's bytes, whole.
  const media = of("media");
  assertEquals(media.length, 1);
  assertEquals(media[0].mxc, facts.photoUri);
  const parts = of("media_part").filter((l) => l.mxc === facts.photoUri);
  const bytes = new Uint8Array(media[0].size);
  for (const part of parts) bytes.set(decodeBase64(part.data), part.offset);
  assertEquals(bytes, facts.photo);
  // Nothing of the others' private data, nor any secret.
  for (const secret of facts.secrets) assert(!text.includes(secret), `archive holds ${secret}`);
}

Deno.test({
  name: "user export: the archive holds the user's data and not other users' private data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-export-" });
    t = await startTestServer({ dataDir: `${dir}/data` });
    try {
      const admin = await t.register("admin");
      await updateUser(t.hs.kv, admin.userId, (u) => ({ ...u, admin: true }));
      const alice = await t.register("alice");
      const bob = await t.register("bob");
      const carol = await t.register("carol");
      const uid = enc(alice.userId);
      await call("PUT", `${V3}/profile/${uid}/displayname`, alice, {
        displayname: "Alice Example",
      });
      await call("PUT", `${V3}/user/${uid}/account_data/org.example.diary`, alice, {
        text: "dear diary",
      });
      await call("PUT", `${V3}/user/${enc(bob.userId)}/account_data/org.example.diary`, bob, {
        text: "frobozz bob's diary",
      });
      const pusher = await call("POST", `${V3}/pushers/set`, alice, {
        kind: "http",
        app_id: "org.example.app",
        pushkey: "alice-key",
        app_display_name: "App",
        device_display_name: "Phone",
        lang: "en",
        data: { url: "https://push.invalid/_matrix/push/v1/notify" },
      });
      assertEquals(pusher.status, 200);

      const shared =
        (await call("POST", `${V3}/createRoom`, alice, { preset: "public_chat" })).body.room_id;
      assertEquals((await call("POST", `${V3}/join/${enc(shared)}`, bob, {})).status, 200);
      const photo = new Uint8Array(150_000).map((_, i) => (i * 31 + 7) & 0xff);
      const photoUri = await upload(alice, photo);
      const bobUri = await upload(bob, new Uint8Array(500).fill(9));
      const own = [
        await say(alice, shared, { msgtype: "m.text", body: "alice says hello" }),
        await say(alice, shared, { msgtype: "m.image", body: "photo.jpg", url: photoUri }),
      ];
      const bobMessage = await say(bob, shared, { msgtype: "m.text", body: "xyzzy bob's words" });
      const report = await call(
        "POST",
        `${V3}/rooms/${enc(shared)}/report/${enc(bobMessage)}`,
        alice,
        {
          reason: "alice reports this",
        },
      );
      assertEquals(report.status, 200);
      const filter = await call("POST", `${V3}/user/${uid}/filter`, alice, {
        room: { timeline: { limit: 7 } },
      });
      assertEquals(filter.status, 200);
      for (const user of [alice, bob]) {
        const receipt = await call(
          "POST",
          `${V3}/rooms/${enc(shared)}/receipt/m.read/${enc(bobMessage)}`,
          user,
          {},
        );
        assertEquals(receipt.status, 200, JSON.stringify(receipt.body));
      }
      const dm =
        (await call("POST", `${V3}/createRoom`, bob, { invite: [carol.userId], is_direct: true }))
          .body.room_id;
      await call("POST", `${V3}/join/${enc(dm)}`, carol, {});
      await say(carol, dm, { msgtype: "m.text", body: "plugh carol's secret" });
      const secrets = [
        "xyzzy",
        "plugh",
        "frobozz",
        bobUri.split("/").pop()!,
        alice.accessToken,
        "accessTokenHash",
        "passwordHash",
      ];

      // Admins only; bad users are refused.
      const path = (user: string) => `/_synapse/admin/v1/gemeng/users/${enc(user)}/export`;
      assertEquals((await call("GET", path(alice.userId), bob)).status, 403);
      assertEquals((await call("GET", path(`@nobody:${t.serverName}`), admin)).status, 404);
      assertEquals((await call("GET", path("@someone:elsewhere.example"), admin)).status, 400);

      const res = await fetch(`${t.baseUrl}${path(alice.userId)}`, {
        headers: { Authorization: `Bearer ${admin.accessToken}` },
      });
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-type"), "application/gzip");
      assert(res.headers.get("content-disposition")!.includes("alice-export.jsonl.gz"));
      const facts = { alice, own, photo, photoUri, secrets };
      checkArchive(await linesOf(res.body!), facts);

      // The CLI writes the same archive, beside the running server.
      const config = `${dir}/gemeng.toml`;
      await Deno.writeTextFile(
        config,
        `server_name = "${t.serverName}"\ndata_dir = "${dir}/data"\n`,
      );
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      const file = `${dir}/alice.jsonl.gz`;
      assertEquals(
        await runCli(["user", "export", "alice", file, "--config", config], io),
        0,
        out.join("\n"),
      );
      const archive = await linesOf((await Deno.open(file)).readable);
      checkArchive(archive, facts);
      assertEquals(
        await runCli(["user", "export", "nobody", `${dir}/x.gz`, "--config", config], io),
        2,
      );
      // Both exports are audited.
      let audited = 0;
      for await (const entry of t.hs.kv.list<{ action: string }>({ prefix: ["admin_audit"] })) {
        if (entry.value.action === "user.export") audited++;
      }
      assertEquals(audited, 2);
    } finally {
      await t.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
