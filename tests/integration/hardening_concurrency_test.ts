/**
 * Bursts of writes to one record (issue 11): a client that sends the same account data, display
 * name, presence, device name, push rule or backup many times at once gets a 2xx for each, never
 * a 500 from optimistic retries running out, and the record ends as one of the writes left it.
 */
import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

const V3 = "/_matrix/client/v3";
const BURST = 60;

Deno.test("a burst of writes to one record: every write answers 2xx", async () => {
  const t = await startTestServer();
  try {
    const alice = await t.register("alice");
    const token = alice.accessToken;
    const me = encodeURIComponent(alice.userId);
    const room = (await t.request("POST", `${V3}/createRoom`, { token, body: {} })).body
      .room_id as string;
    const r = encodeURIComponent(room);
    const version = (await t.request("POST", `${V3}/room_keys/version`, {
      token,
      body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "a" } },
    })).body.version as string;
    const bursts: [string, string, (i: number) => unknown][] = [
      ["PUT", `${V3}/user/${me}/account_data/m.custom`, (i) => ({ i })],
      ["PUT", `${V3}/user/${me}/rooms/${r}/account_data/m.custom`, (i) => ({ i })],
      ["PUT", `${V3}/user/${me}/rooms/${r}/tags/u.work`, (i) => ({ order: i / 100 })],
      ["PUT", `${V3}/profile/${me}/displayname`, (i) => ({ displayname: `Alice ${i}` })],
      ["PUT", `${V3}/presence/${me}/status`, (i) => ({
        presence: i % 2 ? "online" : "unavailable",
        status_msg: `s${i}`,
      })],
      ["PUT", `${V3}/devices/${alice.deviceId}`, (i) => ({ display_name: `phone ${i}` })],
      ["PUT", `${V3}/pushrules/global/override/burst`, (i) => ({
        actions: ["notify"],
        conditions: [{ kind: "event_match", key: "content.body", pattern: `p${i}` }],
      })],
      ["PUT", `${V3}/room_keys/version/${version}`, (i) => ({
        algorithm: "m.megolm_backup.v1.curve25519-aes-sha2",
        auth_data: { public_key: `k${i}` },
        version,
      })],
      ["POST", `${V3}/room_keys/version`, (i) => ({
        algorithm: "m.megolm_backup.v1.curve25519-aes-sha2",
        auth_data: { public_key: `new${i}` },
      })],
      ["POST", `${V3}/rooms/${r}/read_markers`, () => ({})],
    ];
    for (const [method, path, body] of bursts) {
      const answers = await Promise.all(
        Array.from({ length: BURST }, (_, i) => t.request(method, path, { token, body: body(i) })),
      );
      const statuses = answers.map((answer) => answer.status);
      assert(
        statuses.every((status) => status === 200),
        `${method} ${path}: ${[...new Set(statuses)].join(",")}`,
      );
    }
    // The record holds one of the values written.
    const data = await t.request("GET", `${V3}/user/${me}/account_data/m.custom`, { token });
    assertEquals(data.status, 200);
    assert(Number.isInteger(data.body.i) && data.body.i >= 0 && data.body.i < BURST);
    const name = await t.request("GET", `${V3}/profile/${me}/displayname`, { token });
    assert(/^Alice \d+$/.test(name.body.displayname), JSON.stringify(name.body));
  } finally {
    await t.close();
  }
});
