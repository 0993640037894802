/**
 * Server ACLs (`m.room.server_acl`) across three gemeng nodes: once the room on A denies C (named
 * `localhost:PORT`; ACLs match hosts without ports),
 * A neither accepts C's events nor sends C the room's new events, while B goes on as before.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { sendText } from "./support/client.ts";
import { startGemengNode } from "./support/gemeng_node.ts";
import { CA_MISSING, freePort, skipUnless } from "./support/peers.ts";
import { eventually, messageBodies } from "./support/rooms.ts";

const room = (id: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(id)}`;

Deno.test({
  name: "server ACL: a denied server's events are refused and it gets nothing more",
  ...skipUnless(CA_MISSING),
  async fn() {
    const a = await startGemengNode();
    const b = await startGemengNode();
    const cPort = freePort();
    const c = await startGemengNode({ federationPort: cPort, serverName: `localhost:${cPort}` });
    try {
      const alice = await a.register("alice");
      const bob = await b.register("bob");
      const carol = await c.register("carol");
      const created = await a.request("POST", "/_matrix/client/v3/createRoom", {
        token: alice.accessToken,
        body: { preset: "public_chat" },
      });
      const roomId = created.body.room_id as string;
      for (const [node, user] of [[b, bob], [c, carol]] as const) {
        const joined = await node.request(
          "POST",
          `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${
            encodeURIComponent(a.serverName)
          }`,
          { token: user.accessToken, body: {} },
        );
        assertEquals(joined.status, 200, JSON.stringify(joined.body));
      }
      await sendText(a, alice, roomId, "to everyone");
      await eventually(
        async () => (await messageBodies(c, carol, roomId)).includes("to everyone"),
        "the first message on C",
      );

      // ACLs match host names without ports: C is named `localhost:PORT`, the others by IP.
      const acl = await a.request("PUT", `${room(roomId)}/state/m.room.server_acl`, {
        token: alice.accessToken,
        body: { allow: ["*"], deny: ["localhost"], allow_ip_literals: true },
      });
      assertEquals(acl.status, 200, JSON.stringify(acl.body));

      // A still sends to B, no longer to C ...
      await sendText(a, alice, roomId, "after the acl");
      await eventually(
        async () => (await messageBodies(b, bob, roomId)).includes("after the acl"),
        "the message after the ACL on B",
      );
      assert(!(await messageBodies(c, carol, roomId)).includes("after the acl"));
      // ... and refuses what they send.
      await sendText(c, carol, roomId, "from carol after the acl");
      // B's message after C's arrives on A; C's never does.
      await sendText(b, bob, roomId, "from bob after the acl");
      await eventually(
        async () => (await messageBodies(a, alice, roomId)).includes("from bob after the acl"),
        "bob's message on A",
      );
      await new Promise((r) => setTimeout(r, 500));
      assert(!(await messageBodies(a, alice, roomId)).includes("from carol after the acl"));
    } finally {
      await c.close();
      await b.close();
      await a.close();
    }
  },
});
