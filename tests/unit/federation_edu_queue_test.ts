/**
 * The outbound EDU queue and the inbound EDU dispatch (server/federation/edu_queue.ts), on an
 * in-memory KV.
 */

import { assert, assertEquals } from "./assert.ts";
import { Edus, EduTooLargeError, MAX_EDU_CHARS } from "../../server/federation/edu_queue.ts";

Deno.test("edus: queued per destination in order, taken once, waking the sender", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const edus = new Edus(kv, { serverName: "me.lu" });
    const woken: string[][] = [];
    edus.onQueued((d) => woken.push([...d]));
    const typing = (n: number) => ({ edu_type: "m.typing", content: { n } });
    assertEquals(await edus.send(["b.lu", "a.lu", "me.lu", "not a name", "a.lu"], typing(1)), [
      "a.lu",
      "b.lu",
    ]);
    await edus.send(["a.lu"], typing(2));
    await edus.send(["c.lu:8448"], typing(3));
    assertEquals(woken, [["a.lu", "b.lu"], ["a.lu"], ["c.lu:8448"]]);
    assertEquals(await edus.pendingDestinations(), ["a.lu", "b.lu", "c.lu:8448"]);
    assertEquals(await edus.take("a.lu", 1), [typing(1)]);
    assertEquals(await edus.take("a.lu", 100), [typing(2)]);
    assertEquals(await edus.take("a.lu", 100), []);
    assertEquals(await edus.pendingDestinations(), ["b.lu", "c.lu:8448"]);
    let refused = false;
    try {
      await edus.send(["a.lu"], { edu_type: "m.big", content: { x: "x".repeat(MAX_EDU_CHARS) } });
    } catch (err) {
      refused = err instanceof EduTooLargeError;
    }
    assert(refused, "an oversized EDU was queued");
  } finally {
    kv.close();
  }
});

Deno.test("edus: inbound EDUs go to their type's handler; malformed and unknown ones are dropped", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const edus = new Edus(kv, { serverName: "me.lu" });
    const seen: string[] = [];
    edus.handle("m.typing", (origin, content) => {
      seen.push(`${origin} ${JSON.stringify(content)}`);
    });
    edus.handle("m.receipt", () => {
      throw new Error("a failing handler does not stop the others");
    });
    await edus.dispatch("b.lu", [
      null,
      "x",
      { edu_type: 5, content: {} },
      { edu_type: "m.typing", content: [] },
      { edu_type: "m.receipt", content: {} },
      { edu_type: "m.unknown", content: {} },
      { edu_type: "m.typing", content: { room_id: "!r:b.lu" } },
    ]);
    assertEquals(seen, ['b.lu {"room_id":"!r:b.lu"}']);
  } finally {
    kv.close();
  }
});
