/**
 * A real older client: matrix-nio 0.20 (Debian's `python3-matrix-nio`), which speaks only the
 * r0 paths, logs in, uploads its device keys, creates a room, sends, syncs and reads the
 * message back, and a second nio client joins and reads (decrypts) it, against a gemeng server
 * over real HTTP. nio validates every answer against its own schemas, so a response shape it does not
 * accept fails the test. Skipped, saying so, when nio is not installed.
 */

import { assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

/** Debian's interpreter (a pyenv or venv `python3` earlier in PATH may lack the package). */
const PYTHON = "/usr/bin/python3";

async function nioInstalled(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import nio"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

const SCRIPT = `
import asyncio, json, sys
from nio import (AsyncClient, AsyncClientConfig, JoinResponse, KeysQueryResponse,
                 KeysUploadResponse, LoginResponse, RoomCreateResponse, RoomMessagesResponse,
                 RoomSendResponse, SyncResponse)

def check(response, kind):
    if not isinstance(response, kind):
        raise SystemExit(f"expected {kind.__name__}, got {type(response).__name__}: {response}")
    return response

async def client_for(base, user, password, store):
    client = AsyncClient(base, user, store_path=store,
                         config=AsyncClientConfig(store_sync_tokens=False))
    check(await client.login(password, device_name="nio"), LoginResponse)
    if client.should_upload_keys:
        check(await client.keys_upload(), KeysUploadResponse)
    return client

async def main(base, alice_id, bob_id, password, store):
    alice = await client_for(base, alice_id, password, store + "/a")
    bob = await client_for(base, bob_id, password, store + "/b")
    try:
        room = check(await alice.room_create(name="nio room", invite=[bob_id]),
                     RoomCreateResponse).room_id
        check(await bob.join(room), JoinResponse)
        # nio sends only to rooms it has synced (it decides there whether to encrypt).
        again = check(await alice.sync(timeout=0, full_state=True), SyncResponse)
        sent = check(await alice.room_send(room, "m.room.message",
                                           {"msgtype": "m.text", "body": "hello from nio"},
                                           ignore_unverified_devices=True),
                     RoomSendResponse)
        sync = check(await bob.sync(timeout=0, full_state=True), SyncResponse)
        timeline = sync.rooms.join[room].timeline.events
        bodies = [getattr(event, "body", None) for event in timeline]
        page = check(await bob.room_messages(room, start=sync.next_batch, limit=5),
                     RoomMessagesResponse)
        # Incremental sync after a second message.
        check(await alice.room_send(room, "m.room.message",
                                    {"msgtype": "m.text", "body": "second"},
                                    ignore_unverified_devices=True), RoomSendResponse)
        later = check(await bob.sync(timeout=1000, since=sync.next_batch), SyncResponse)
        later_bodies = [getattr(e, "body", None) for e in later.rooms.join[room].timeline.events]
        bob.users_for_key_query.add(alice_id)
        keys = check(await bob.keys_query(), KeysQueryResponse)
        print(json.dumps({
            "event_id": sent.event_id,
            "sync_bodies": bodies,
            "page_bodies": [getattr(event, "body", None) for event in page.chunk],
            "alice_rooms": list(again.rooms.join.keys()),
            "room": room,
            "later_bodies": later_bodies,
            "alice_devices": list(keys.device_keys.get(alice_id, {}).keys()),
        }))
    finally:
        await alice.close()
        await bob.close()

asyncio.run(main(*sys.argv[1:]))
`;

const installed = await nioInstalled();
if (!installed) {
  console.warn(
    `legacy nio test skipped: matrix-nio is not installed for ${PYTHON} ` +
      "(apt-get install python3-matrix-nio; .ci/run installs it)",
  );
}

Deno.test({
  name: "legacy nio: matrix-nio 0.20 logs in and chats on the r0 paths",
  ignore: !installed,
  async fn() {
    const server = await startTestServer();
    const dir = await Deno.makeTempDir({ prefix: "gemeng-nio-" });
    try {
      const password = "nio-password-1";
      const alice = await server.register("nioalice", { password });
      const bob = await server.register("niobob", { password });
      const script = `${dir}/chat.py`;
      await Deno.writeTextFile(script, SCRIPT);
      await Deno.mkdir(`${dir}/a`);
      await Deno.mkdir(`${dir}/b`);
      const out = await new Deno.Command(PYTHON, {
        args: [script, server.baseUrl, alice.userId, bob.userId, password, dir],
        stdout: "piped",
        stderr: "piped",
        env: { PYTHONDONTWRITEBYTECODE: "1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      if (!out.success) throw new Error(`nio script failed:\n${stdout}\n${stderr}`);
      const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assertEquals(result.sync_bodies.includes("hello from nio"), true, stdout);
      assertEquals(result.page_bodies[0], "hello from nio", stdout);
      assertEquals(result.alice_rooms, [result.room]);
      assertEquals(result.later_bodies, ["second"], stdout);
      assertEquals(result.alice_devices.length, 1, stdout);
      // nio encrypted it (the room is private, so encrypted by default): it claimed Bob's keys
      // and shared the room key through r0 send-to-device, and Bob's nio decrypted it.
      const seen = await server.request(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(result.room)}/event/${
          encodeURIComponent(result.event_id)
        }`,
        { token: bob.accessToken },
      );
      assertEquals(seen.body.type, "m.room.encrypted");
      assertEquals(seen.body.content.algorithm, "m.megolm.v1.aes-sha2");
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
