/**
 * The data format: a database of the previous format (0: the same records without
 * `["meta", "format_version"]` and `["meta", "node"]`) is migrated at start-up and serves its
 * users and rooms; a database of another server name or of a newer gemeng is refused; the
 * runner applies steps in order and resumes after a failed one.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";
import {
  DATA_FORMAT_VERSION,
  DataFormatError,
  FORMAT_VERSION_KEY,
  migrateDataFormat,
  type Migration,
  NODE_KEY,
  type NodeRecord,
} from "../../server/store/data_format.ts";
import { createUser } from "../../server/store/accounts.ts";

async function openError(kv: Deno.Kv, serverName: string): Promise<unknown> {
  try {
    const server = await startTestServer({ kv, config: { server_name: serverName } });
    await server.close();
  } catch (err) {
    return err;
  }
  return null;
}

Deno.test({
  name: "data format: a format-0 database is migrated at start-up and keeps its data",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const kv = await Deno.openKv(":memory:");
    try {
      // Written by the server as it was before formats were recorded: same records, no marks.
      const first = await startTestServer({ kv });
      const alice = await first.register("alice", { password: "alice-password-1" });
      const roomId = await createRoom(first, alice);
      const sent = await send(first, alice, roomId, { msgtype: "m.text", body: "kept" });
      assertEquals(sent.status, 200);
      await first.close();
      await kv.delete(FORMAT_VERSION_KEY);
      await kv.delete(NODE_KEY);

      const second = await startTestServer({ kv });
      try {
        assertEquals((await kv.get(FORMAT_VERSION_KEY)).value, DATA_FORMAT_VERSION);
        assertEquals((await kv.get<NodeRecord>(NODE_KEY)).value?.serverName, "localhost");
        assertEquals(second.hs.dataFormat, DATA_FORMAT_VERSION);
        const again = await second.login("alice", "alice-password-1");
        const event = await second.request(
          "GET",
          `${V3}/rooms/${enc(roomId)}/event/${enc(sent.body.event_id)}`,
          { token: again.accessToken },
        );
        assertEquals(event.body.content.body, "kept");
      } finally {
        await second.close();
      }
      // Once migrated, the node's name is checked at every start.
      const err = await openError(kv, "elsewhere.localhost");
      assert(err instanceof DataFormatError && err.code === "WRONG_SERVER_NAME", String(err));
    } finally {
      kv.close();
    }
  },
});

Deno.test("data format: another server's accounts and a newer format are refused", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await createUser(kv, { userId: "@bob:other.localhost", passwordHash: "x", admin: false });
    const wrong = await openError(kv, "localhost");
    assert(wrong instanceof DataFormatError && wrong.code === "WRONG_SERVER_NAME", String(wrong));
    assert(wrong.message.includes('server_name = "other.localhost"'));
    assertEquals((await kv.get(FORMAT_VERSION_KEY)).value, null, "nothing recorded");

    await kv.set(FORMAT_VERSION_KEY, DATA_FORMAT_VERSION + 1);
    const tooNew = await openError(kv, "other.localhost");
    assert(tooNew instanceof DataFormatError && tooNew.code === "FORMAT_TOO_NEW", String(tooNew));
  } finally {
    kv.close();
  }
});

Deno.test("data format: migrations run in order, once, and resume after a failure", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["user", "@a:localhost"], {});
    await kv.set(FORMAT_VERSION_KEY, 1);
    const ran: number[] = [];
    let failOnce = true;
    const step = (to: number): Migration => ({
      to,
      description: `step ${to}`,
      run: () => {
        if (to === 3 && failOnce) {
          failOnce = false;
          return Promise.reject(new Error("disk full"));
        }
        ran.push(to);
        return Promise.resolve();
      },
    });
    const migrations = [step(1), step(2), step(3), step(4)];
    let failed: unknown;
    try {
      await migrateDataFormat(kv, { serverName: "localhost", migrations });
    } catch (err) {
      failed = err;
    }
    assertEquals(String(failed), "Error: disk full");
    assertEquals((await kv.get(FORMAT_VERSION_KEY)).value, 2);
    const result = await migrateDataFormat(kv, { serverName: "localhost", migrations });
    assertEquals(result, { from: 2, to: 4 });
    assertEquals(ran, [2, 3, 4]);
    assertEquals(await migrateDataFormat(kv, { serverName: "localhost", migrations }), {
      from: 4,
      to: 4,
    });
  } finally {
    kv.close();
  }
});
