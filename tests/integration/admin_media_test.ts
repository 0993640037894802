/**
 * The Synapse-compatible media admin API over real HTTP: a user's media list with orders and
 * pagination, per-user usage statistics, quarantine by ID (local and remote), by room and by
 * user (quarantined media answer 404 to downloads, lifting it serves them again), deletion by
 * ID and by age and size (profile avatars kept), the largest-media list. Non-admins get 403
 * M_FORBIDDEN, bad input 400. One server.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestUser } from "../support/test_server.ts";
import { updateUser } from "../../server/store/accounts.ts";

const V3 = "/_matrix/client/v3";
const A1 = "/_synapse/admin/v1";
const enc = encodeURIComponent;

Deno.test({
  name: "admin media: list, usage, quarantine (ID, room, user), delete by age and size",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await startTestServer();
    try {
      const admin = await t.register("admin");
      const alice = await t.register("alice");
      const bob = await t.register("bob");
      await updateUser(t.hs.kv, admin.userId, (u) => ({ ...u, admin: true }));
      const call = (method: string, path: string, user: TestUser = admin, body?: unknown) =>
        t.request(method, path, { token: user.accessToken, body });

      const upload = async (user: TestUser, size: number, name: string) => {
        const bytes = new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);
        const res = await fetch(`${t.baseUrl}/_matrix/media/v3/upload?filename=${name}`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${user.accessToken}`,
            "Content-Type": "application/octet-stream",
          },
          body: bytes,
        });
        const body = await res.json();
        assertEquals(res.status, 200, JSON.stringify(body));
        return (body.content_uri as string).split("/").pop()!;
      };
      const download = async (mediaId: string, server = t.serverName) => {
        const res = await fetch(
          `${t.baseUrl}/_matrix/client/v1/media/download/${server}/${mediaId}`,
          {
            headers: { Authorization: `Bearer ${bob.accessToken}` },
          },
        );
        await res.body?.cancel();
        return res.status;
      };

      const small = await upload(alice, 1000, "small.bin");
      await new Promise((r) => setTimeout(r, 5));
      const big = await upload(alice, 200_000, "big.bin");
      await new Promise((r) => setTimeout(r, 5));
      const middle = await upload(alice, 50_000, "middle.bin");
      const bobs = await upload(bob, 30_000, "avatar.bin");
      const bobsOther = await upload(bob, 40_000, "other.bin");

      for (
        const [method, path] of [
          ["GET", `${A1}/users/${enc(alice.userId)}/media`],
          ["GET", `${A1}/statistics/users/media`],
          ["POST", `${A1}/media/quarantine/${t.serverName}/${small}`],
          ["POST", `${A1}/media/unquarantine/${t.serverName}/${small}`],
          ["POST", `${A1}/user/${enc(alice.userId)}/media/quarantine`],
          ["POST", `${A1}/media/delete?before_ts=1`],
          ["GET", `${A1}/media/largest`],
        ]
      ) {
        const res = await call(method, path, bob, method === "POST" ? {} : undefined);
        assertEquals([res.status, res.body?.errcode], [403, "M_FORBIDDEN"], `${method} ${path}`);
      }

      // A user's media: newest first by default, Synapse's fields, orders and pages.
      const listed = await call("GET", `${A1}/users/${enc(alice.userId)}/media`);
      assertEquals(listed.status, 200, JSON.stringify(listed.body));
      assertEquals(listed.body.total, 3);
      assertEquals(listed.body.media.map((m: { media_id: string }) => m.media_id), [
        middle,
        big,
        small,
      ]);
      const one = listed.body.media[1];
      assertEquals(one.media_length, 200_000);
      assertEquals(one.upload_name, "big.bin");
      assertEquals(one.media_type, "application/octet-stream");
      assertEquals([one.quarantined_by, one.safe_from_quarantine, one.last_access_ts], [
        null,
        false,
        null,
      ]);
      assert(one.created_ts > 0);
      const bySize = await call(
        "GET",
        `${A1}/users/${enc(alice.userId)}/media?order_by=media_length&dir=b&limit=2`,
      );
      assertEquals(bySize.body.media.map((m: { media_id: string }) => m.media_id), [big, middle]);
      assertEquals(bySize.body.next_token, 2);

      // Usage per user, largest first when asked.
      const usage = await call("GET", `${A1}/statistics/users/media?order_by=media_length&dir=b`);
      assertEquals(usage.body.total, 2);
      assertEquals(usage.body.users[0], {
        user_id: alice.userId,
        displayname: "alice",
        media_count: 3,
        media_length: 251_000,
      });
      assertEquals(usage.body.users[1].media_length, 70_000);
      const searched = await call("GET", `${A1}/statistics/users/media?search_term=BO`);
      assertEquals(searched.body.users.map((u: { user_id: string }) => u.user_id), [bob.userId]);
      const future = await call("GET", `${A1}/statistics/users/media?from_ts=${Date.now() + 1e6}`);
      assertEquals(future.body.total, 0);

      // Quarantine by ID: not served, marked in the lists; lifted: served again.
      assertEquals(await download(small), 200);
      const q = await call("POST", `${A1}/media/quarantine/${t.serverName}/${small}`, admin, {});
      assertEquals([q.status, q.body], [200, {}]);
      assertEquals(await download(small), 404);
      const marked = await call("GET", `${A1}/users/${enc(alice.userId)}/media`);
      assertEquals(
        marked.body.media.find((m: { media_id: string }) => m.media_id === small).quarantined_by,
        admin.userId,
      );
      await call("POST", `${A1}/media/unquarantine/${t.serverName}/${small}`, admin, {});
      assertEquals(await download(small), 200);
      // Remote media can be quarantined before they are fetched; they are not fetched then.
      await call("POST", `${A1}/media/quarantine/remote.example/abcDEF`, admin, {});
      assertEquals(await download("abcDEF", "remote.example"), 404);

      // Quarantine a room's media: the mxc URIs its events use.
      const room = await call("POST", `${V3}/createRoom`, alice, { preset: "private_chat" });
      const roomId = room.body.room_id as string;
      const sent = await call(
        "PUT",
        `${V3}/rooms/${enc(roomId)}/send/m.room.message/m1`,
        alice,
        {
          msgtype: "m.file",
          body: "middle.bin",
          url: `mxc://${t.serverName}/${middle}`,
          info: { thumbnail_url: `mxc://${t.serverName}/${small}` },
        },
      );
      assertEquals(sent.status, 200);
      const inRoom = await call("GET", `${A1}/room/${enc(roomId)}/media`);
      assertEquals(
        inRoom.body.local.sort(),
        [
          `mxc://${t.serverName}/${middle}`,
          `mxc://${t.serverName}/${small}`,
        ].sort(),
      );
      assertEquals(inRoom.body.remote, []);
      const roomQ = await call("POST", `${A1}/room/${enc(roomId)}/media/quarantine`, admin, {});
      assertEquals(roomQ.body, { num_quarantined: 2 });
      const again = await call("POST", `${A1}/quarantine_media/${enc(roomId)}`, admin, {});
      assertEquals(again.body, { num_quarantined: 0 }); // the older path, nothing new
      const info = await call("GET", `${A1}/media/${t.serverName}/${middle}`);
      assertEquals(info.body.media_info.media_length, 50_000);
      assertEquals(info.body.media_info.user_id, alice.userId);
      assertEquals(info.body.media_info.quarantined_by, admin.userId);
      assertEquals(info.body.media_info.upload_name, "middle.bin");
      assertEquals((await call("GET", `${A1}/media/remote.example/abcDEF`)).status, 404);
      assertEquals([await download(middle), await download(small), await download(big)], [
        404,
        404,
        200,
      ]);
      const userQ = await call("POST", `${A1}/user/${enc(bob.userId)}/media/quarantine`, admin, {});
      assertEquals(userQ.body, { num_quarantined: 2 });
      assertEquals(await download(bobs), 404);
      const largest = await call("GET", `${A1}/media/largest?limit=2`);
      assertEquals(largest.body.media[0].media_id, big);
      assertEquals(largest.body.media[1].quarantined_by, admin.userId); // middle

      // Deletion by age and size keeps profile avatars.
      const avatar = await call("PUT", `${V3}/profile/${enc(bob.userId)}/avatar_url`, bob, {
        avatar_url: `mxc://${t.serverName}/${bobs}`,
      });
      assertEquals(avatar.status, 200);
      const del = await call(
        "POST",
        `${A1}/media/delete?before_ts=${Date.now() + 1}&size_gt=20000`,
      );
      assertEquals(del.status, 200, JSON.stringify(del.body));
      assertEquals(del.body.deleted_media.sort(), [big, middle, bobsOther].sort());
      assertEquals(del.body.total, 3);
      const afterUsage = await call("GET", `${A1}/statistics/users/media?order_by=user_id`);
      assertEquals(
        afterUsage.body.users.map((u: { media_length: number }) => u.media_length),
        [1000, 30_000],
      );
      const gone = await call("DELETE", `${A1}/media/${t.serverName}/${small}`);
      assertEquals(gone.body, { deleted_media: [small], total: 1 });

      // Bad input.
      for (
        const [method, path, code] of [
          ["POST", `${A1}/media/delete`, "M_MISSING_PARAM"],
          ["POST", `${A1}/media/delete?before_ts=1&size_gt=-5`, "M_INVALID_PARAM"],
          ["POST", `${A1}/media/delete?before_ts=1&keep_profiles=maybe`, "M_INVALID_PARAM"],
          ["POST", `${A1}/media/quarantine/${t.serverName}/bad%20id`, "M_INVALID_PARAM"],
          ["POST", `${A1}/media/quarantine/bad_server!/abc`, "M_INVALID_PARAM"],
          ["GET", `${A1}/users/${enc(alice.userId)}/media?order_by=size`, "M_INVALID_PARAM"],
          ["GET", `${A1}/users/${enc("@x:remote.example")}/media`, "M_INVALID_PARAM"],
          ["GET", `${A1}/statistics/users/media?limit=5000`, "M_INVALID_PARAM"],
          ["GET", `${A1}/statistics/users/media?search_term=${"x".repeat(300)}`, "M_INVALID_PARAM"],
        ] as const
      ) {
        const res = await call(method, path, admin, method === "POST" ? {} : undefined);
        assertEquals([res.status, res.body?.errcode], [400, code], `${method} ${path}`);
      }
      const audit = await call("GET", `${A1}/gemeng/audit_log?dir=f`);
      assertEquals(
        audit.body.entries.map((e: { action: string }) => e.action),
        [
          "media.quarantine",
          "media.unquarantine",
          "media.quarantine",
          "media.quarantine_room",
          "media.quarantine_room",
          "media.quarantine_user",
          "media.delete_old",
          "media.delete",
        ],
      );
      assertEquals(audit.body.entries[3].details, { num_quarantined: 2 });
      assertEquals(audit.body.entries[7].target, `mxc://${t.serverName}/${small}`);
      const noRoom = await call(
        "POST",
        `${A1}/room/${enc("!x:" + t.serverName)}/media/quarantine`,
        admin,
        {},
      );
      assertEquals(noRoom.status, 404);
    } finally {
      await t.close();
    }
  },
});
