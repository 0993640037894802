/**
 * Countersigning a PDU (the invited server's signature on an invite): both signatures verify
 * as a receiver checks them, the event ID and hash stay, and a changed event is noticed.
 */
import { assert, assertEquals } from "./assert.ts";
import { SigningKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { redactPdu } from "../../federation/redaction.ts";
import { buildPdu } from "../../federation/build_event.ts";
import { addPduSignature, samePduApartFromSignatures } from "../../federation/event_signing.ts";
import { parsePdu } from "../../federation/event_format.ts";
import { checkSignatures } from "../../federation/pdu_checks.ts";
import { ROOM_VERSIONS } from "../../federation/room_versions.ts";
import type { JsonObject } from "../../federation/types.ts";

const inviter = await SigningKey.generate("a");
const invited = await SigningKey.generate("b");

for (const rules of ROOM_VERSIONS.values()) {
  Deno.test(`addPduSignature keeps the event and adds a valid signature (v${rules.id})`, async () => {
    const roomId = rules.roomIdFromCreateEvent
      ? "!abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
      : "!r:a.test";
    const invite = await buildPdu({
      type: "m.room.member",
      stateKey: "@bob:b.test",
      sender: "@alice:a.test",
      content: { membership: "invite" },
    }, {
      rules,
      roomId,
      origin: "a.test",
      signingKey: inviter,
      prevEvents: [],
      state: () => undefined,
      originServerTs: 1_700_000_000_000,
      eventIdLocalpart: "inv",
    });
    const pdu = { ...invite.pdu };
    if (rules.eventFormat === "v1") pdu.event_id = invite.eventId;
    const signed = await addPduSignature(pdu, {
      rules,
      origin: "b.test",
      signingKey: invited,
    });
    assert(samePduApartFromSignatures(pdu, signed));
    const sigs = signed.signatures as Record<string, JsonObject>;
    assertEquals(Object.keys(sigs).sort(), ["a.test", "b.test"]);
    const parsed = parsePdu(signed, rules, { roomId });
    assert(parsed.ok, parsed.ok ? "" : parsed.reason);
    assertEquals(parsed.event.eventId, invite.eventId);
    const original = await checkSignatures(parsed.event, rules, (name, keyId) =>
      Promise.resolve(
        name === "a.test" && keyId === inviter.keyId ? inviter.publicKey : null,
      ));
    assert(original.ok);
    // The invited server's signature verifies over the redacted event.
    assert(
      await verifyJsonSignature(
        redactPdu(signed, rules),
        "b.test",
        invited.keyId,
        invited.publicKey,
        { strict: rules.strictCanonicalJson },
      ),
    );
    // A changed content is noticed.
    const changed = { ...signed, content: { membership: "join" } };
    assert(!samePduApartFromSignatures(pdu, changed));
  });
}
