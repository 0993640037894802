/**
 * The receipt checks of a PDU (federation/pdu_checks.ts), server ACL matching
 * (federation/server_acl.ts) and drafting an unsigned event for another server to sign
 * (federation/build_event.ts `buildUnsignedPdu` + `signPdu`), for several room versions.
 */

import { assert, assertEquals } from "./assert.ts";
import { SigningKey } from "../../crypto/signing.ts";
import { buildPdu, buildUnsignedPdu, signPdu } from "../../federation/build_event.ts";
import { checkPdu, requiredSigners } from "../../federation/pdu_checks.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import { serverAllowedByAcl } from "../../federation/server_acl.ts";
import type { RoomEvent } from "../../federation/types.ts";

const ROOM = "!room:a.lu";

async function setup(version: string) {
  const rules = roomVersion(version)!;
  const keyA = await SigningKey.generate("a1");
  const keyB = await SigningKey.generate("b1");
  const keys = new Map([["a.lu|ed25519:a1", keyA.publicKey], ["b.lu|ed25519:b1", keyB.publicKey]]);
  const lookup = (server: string, keyId: string) =>
    Promise.resolve(keys.get(`${server}|${keyId}`) ?? null);
  const create = await buildPdu(
    {
      type: "m.room.create",
      stateKey: "",
      sender: "@alice:a.lu",
      content: { creator: "@alice:a.lu" },
    },
    {
      rules,
      roomId: rules.roomIdFromCreateEvent ? undefined : ROOM,
      origin: "a.lu",
      signingKey: keyA,
      prevEvents: [],
      state: () => undefined,
      originServerTs: 1000,
      eventIdLocalpart: "create",
    },
  );
  return { rules, keyA, keyB, lookup, create, roomId: create.roomId };
}

async function message(
  s: Awaited<ReturnType<typeof setup>>,
  options: { sender?: string; origin?: string; key?: SigningKey } = {},
): Promise<RoomEvent> {
  return await buildPdu({
    type: "m.room.message",
    sender: options.sender ?? "@bob:b.lu",
    content: { body: "hi", msgtype: "m.text" },
  }, {
    rules: s.rules,
    roomId: s.roomId,
    origin: options.origin ?? "b.lu",
    signingKey: options.key ?? s.keyB,
    prevEvents: [s.create],
    state: (type) => type === "m.room.create" ? s.create : undefined,
    originServerTs: 2000,
    eventIdLocalpart: "msg",
  });
}

for (const version of ["1", "6", "10", "11", "12"]) {
  Deno.test(`pdu checks v${version}: good, bad signature, wrong signer, changed content`, async () => {
    const s = await setup(version);
    const good = await message(s);
    const ok = await checkPdu(good.pdu, s.rules, { keys: s.lookup, roomId: s.roomId });
    assert(ok.ok && !ok.redacted && ok.event.eventId === good.eventId, JSON.stringify(ok));

    // Signed by a key the server does not have.
    const stranger = await SigningKey.generate("b1");
    const forged = await message(s, { key: stranger });
    const bad = await checkPdu(forged.pdu, s.rules, { keys: s.lookup, roomId: s.roomId });
    assert(!bad.ok && /signature/.test(bad.reason), JSON.stringify(bad));

    // b.lu signs an event of a user of c.lu: c.lu's signature is missing.
    const relayed = await message(s, { sender: "@carol:c.lu" });
    const wrong = await checkPdu(relayed.pdu, s.rules, { keys: s.lookup, roomId: s.roomId });
    assert(!wrong.ok && /c\.lu/.test(wrong.reason), JSON.stringify(wrong));

    // Content changed after signing: kept, but redacted (the signature covers the redacted
    // form, so it still holds; the hash does not).
    const changed: Record<string, unknown> = {
      ...good.pdu,
      content: { body: "changed", msgtype: "m.text" },
    };
    if (s.rules.eventFormat === "v1") changed.event_id = good.eventId;
    const redacted = await checkPdu(changed, s.rules, { keys: s.lookup, roomId: s.roomId });
    assert(redacted.ok && redacted.redacted, JSON.stringify(redacted));
    assertEquals(redacted.event.content, {});
    assertEquals(redacted.event.eventId, good.eventId);

    // Another room.
    const other = await checkPdu(good.pdu, s.rules, { keys: s.lookup, roomId: "!other:a.lu" });
    assert(!other.ok);
  });

  Deno.test(`unsigned draft v${version}: signed by the joining server, checks as received`, async () => {
    const s = await setup(version);
    const draft = buildUnsignedPdu(
      {
        type: "m.room.member",
        stateKey: "@bob:b.lu",
        sender: "@bob:b.lu",
        content: { membership: "join" },
      },
      {
        rules: s.rules,
        roomId: s.roomId,
        origin: "b.lu",
        prevEvents: [s.create],
        state: (type) => type === "m.room.create" ? s.create : undefined,
        originServerTs: 3000,
      },
    );
    assertEquals(draft.hashes, undefined);
    assertEquals(draft.signatures, undefined);
    assertEquals(draft.event_id, undefined);
    if (s.rules.eventFormat === "v1") draft.event_id = "$join:b.lu";
    const join = await signPdu(draft, {
      rules: s.rules,
      origin: "b.lu",
      signingKey: s.keyB,
      roomId: s.roomId,
    });
    assertEquals(requiredSigners(join, s.rules), ["b.lu"]);
    const checked = await checkPdu(join.pdu, s.rules, { keys: s.lookup, roomId: s.roomId });
    assert(checked.ok && !checked.redacted, JSON.stringify(checked));
  });
}

Deno.test("server ACL: deny wins, allow needed, globs, ports and IP literals", () => {
  const acl = {
    allow: ["*.lu", "matrix.org"],
    deny: ["bad.lu", "*.evil.lu"],
    allow_ip_literals: false,
  };
  assert(serverAllowedByAcl(acl, "commune.lu"));
  assert(serverAllowedByAcl(acl, "commune.lu:8448"));
  assert(serverAllowedByAcl(acl, "MATRIX.org"));
  assert(!serverAllowedByAcl(acl, "bad.lu"));
  assert(!serverAllowedByAcl(acl, "x.evil.lu"));
  assert(!serverAllowedByAcl(acl, "example.com"));
  assert(!serverAllowedByAcl(acl, "1.2.3.4:8448"));
  assert(!serverAllowedByAcl(acl, "[::1]:8448"));
  assert(serverAllowedByAcl({ allow: ["*"] }, "127.0.0.1:8448"));
  assert(!serverAllowedByAcl({}, "a.lu"), "no allow entry allows nobody");
  assert(serverAllowedByAcl({ allow: ["?.lu"] }, "a.lu"));
  assert(!serverAllowedByAcl({ allow: ["?.lu"] }, "ab.lu"));
});
