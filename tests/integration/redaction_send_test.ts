/**
 * Redactions sent through `PUT /rooms/{roomId}/send/m.room.redaction/{txnId}` (v1.18): the
 * target in `content.redacts`, for room versions before 11 (moved to the event's top level)
 * and from 11 on (kept in the content).
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

const V3 = "/_matrix/client/v3";
const enc = encodeURIComponent;

Deno.test("redactions through /send/m.room.redaction, every room version", async (t) => {
  const s = await startTestServer();
  try {
    const alice = await s.register("alice");
    const send = (roomId: string, type: string, txn: string, body: unknown) =>
      s.request("PUT", `${V3}/rooms/${enc(roomId)}/send/${type}/${txn}`, {
        token: alice.accessToken,
        body,
      });
    const getEvent = (roomId: string, eventId: string) =>
      s.request("GET", `${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`, {
        token: alice.accessToken,
      });

    for (const version of ["10", "11"]) {
      await t.step(`room version ${version}`, async () => {
        const created = await s.request("POST", `${V3}/createRoom`, {
          token: alice.accessToken,
          body: { room_version: version },
        });
        assertEquals(created.status, 200);
        const roomId = created.body.room_id as string;
        const message = await send(roomId, "m.room.message", `m${version}`, {
          msgtype: "m.text",
          body: "to be redacted",
        });
        const target = message.body.event_id as string;
        const redaction = await send(roomId, "m.room.redaction", `r${version}`, {
          redacts: target,
          reason: "typo",
        });
        assertEquals(redaction.status, 200, JSON.stringify(redaction.body));
        const again = await send(roomId, "m.room.redaction", `r${version}`, {
          redacts: target,
          reason: "typo",
        });
        assertEquals(again.body.event_id, redaction.body.event_id, "idempotent per txn");

        const redacted = await getEvent(roomId, target);
        assertEquals(redacted.body.content, {});
        assertEquals(redacted.body.unsigned?.redacted_because?.event_id, redaction.body.event_id);
        const event = await getEvent(roomId, redaction.body.event_id);
        assertEquals(event.body.content.reason, "typo");
        if (version === "10") assertEquals(event.body.redacts, target);
        else assertEquals(event.body.content.redacts, target);

        const missing = await send(roomId, "m.room.redaction", `x${version}`, { reason: "x" });
        assertEquals([missing.status, missing.body.errcode], [400, "M_MISSING_PARAM"]);
        const badId = await send(roomId, "m.room.redaction", `y${version}`, { redacts: 5 });
        assertEquals([badId.status, badId.body.errcode], [400, "M_BAD_JSON"]);
        const unknown = await send(roomId, "m.room.redaction", `z${version}`, {
          redacts: `$${"A".repeat(43)}`,
        });
        assertEquals(unknown.status, 404);
      });
    }

    await t.step("an event of another room is a 400", async () => {
      const a = await s.request("POST", `${V3}/createRoom`, { token: alice.accessToken, body: {} });
      const b = await s.request("POST", `${V3}/createRoom`, { token: alice.accessToken, body: {} });
      const inA = await send(a.body.room_id, "m.room.message", "ma", {
        msgtype: "m.text",
        body: "in a",
      });
      const cross = await send(b.body.room_id, "m.room.redaction", "rb", {
        redacts: inA.body.event_id,
      });
      assertEquals([cross.status, cross.body.errcode], [400, "M_INVALID_PARAM"]);
      const still = await getEvent(a.body.room_id, inA.body.event_id);
      assert(still.body.content.body === "in a", "nothing was redacted");
    });
  } finally {
    await s.close();
  }
});
