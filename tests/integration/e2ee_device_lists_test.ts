import { assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { recordDeviceListChange } from "../../server/e2ee/device_lists.ts";
import { visiblePosition } from "../../server/e2ee/positions.ts";
import {
  deviceListsBetween,
  type MembershipChange,
  type MembershipView,
} from "../../server/e2ee/sync_fields.ts";

/**
 * Rooms as plain data (the rooms store is another module): current members, and membership
 * changes stamped with the stream position they happened at.
 */
class Rooms implements MembershipView {
  members = new Map<string, Set<string>>();
  log: (MembershipChange & { pos: number })[] = [];

  set(roomId: string, userId: string, membership: string, pos: number) {
    const members = this.members.get(roomId) ?? new Set();
    if (membership === "join") members.add(userId);
    else members.delete(userId);
    this.members.set(roomId, members);
    this.log.push({ roomId, userId, membership, pos });
  }
  joinedRooms(userId: string) {
    return Promise.resolve([...this.members].filter(([, m]) => m.has(userId)).map(([r]) => r));
  }
  joinedMembers(roomId: string) {
    return Promise.resolve([...this.members.get(roomId) ?? []]);
  }
  membershipChanges(userId: string, range: { since: number; upto: number }) {
    const inRange = (c: { pos: number }) => c.pos > range.since && c.pos <= range.upto;
    const rooms = new Set(
      [...this.members].filter(([, m]) => m.has(userId)).map(([r]) => r),
    );
    for (const c of this.log) if (c.userId === userId && inRange(c)) rooms.add(c.roomId);
    return Promise.resolve(this.log.filter((c) => inRange(c) && rooms.has(c.roomId)));
  }
}

Deno.test("device lists: changed for room-mates and self, joins, and left", async () => {
  const t = await startTestServer();
  try {
    const hs = t.hs;
    const rooms = new Rooms();
    const [alice, bob, carol, dave] = [
      "@alice:localhost",
      "@bob:localhost",
      "@carol:localhost",
      "@dave:localhost",
    ];
    const pos = () => visiblePosition(hs);
    rooms.set("!r1", alice, "join", 0);
    rooms.set("!r1", bob, "join", 0);
    rooms.set("!r2", carol, "join", 0);
    const start = await pos();
    await recordDeviceListChange(hs, { userId: bob, deviceIds: ["B1"] });
    await recordDeviceListChange(hs, { userId: carol, deviceIds: ["C1"] });
    await recordDeviceListChange(hs, { userId: alice, crossSigning: true });
    const mid = await pos();
    assertEquals(
      (await deviceListsBetween(hs, alice, { since: start, upto: mid, rooms })).changed.sort(),
      [alice, bob],
    );
    // Dave joins r1: he newly shares a room with Alice. Alice joins r2: Carol too.
    await recordDeviceListChange(hs, { userId: dave, deviceIds: ["D0"] }); // before sharing
    const joins = (await pos()) + 1;
    rooms.set("!r1", dave, "join", joins);
    rooms.set("!r2", alice, "join", joins);
    await recordDeviceListChange(hs, { userId: alice, deviceIds: ["A2"] }); // moves the stream
    const afterJoins = await pos();
    const joined = await deviceListsBetween(hs, alice, { since: mid, upto: afterJoins, rooms });
    assertEquals(joined.changed.sort(), [alice, carol, dave]);
    assertEquals(joined.left, []);
    // Bob leaves r1 (no other shared room): left. Alice leaves r2: Carol left.
    const leaves = afterJoins + 1;
    rooms.set("!r1", bob, "leave", leaves);
    rooms.set("!r2", alice, "leave", leaves);
    await recordDeviceListChange(hs, { userId: bob, deviceIds: ["B2"] });
    const end = await pos();
    const left = await deviceListsBetween(hs, alice, { since: afterJoins, upto: end, rooms });
    assertEquals(left.left.sort(), [bob, carol]);
    assertEquals(left.changed, []);
  } finally {
    await t.close();
  }
});
