/**
 * Online backup and restore: clients keep sending messages over HTTP while `main.ts backup`
 * (another process) backs the running node up; the backup is restored into a fresh data
 * directory with `main.ts restore`, a server started on it, and then every event acknowledged
 * before the backup started is there, the server's signing key is the same, users log in with
 * their passwords and uploaded media downloads byte for byte. Also: what restore refuses, and
 * scheduled backups with retention.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { download, upload } from "../support/media_support.ts";
import { createRoom, enc, send, V3 } from "./rooms_support.ts";
import { readBackupHeader } from "../../server/ops/backup_format.ts";
import { pruneBackups, startBackupSchedule } from "../../server/ops/backup_schedule.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const SERVER_NAME = "backup.localhost";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function writeConfig(path: string, dataDir: string): Promise<void> {
  await Deno.writeTextFile(path, `server_name = "${SERVER_NAME}"\ndata_dir = "${dataDir}"\n`);
}

/** Clients sending messages until stopped; remembers each acknowledged event and when. */
function startLoad(server: TestServer, senders: TestUser[], roomId: string) {
  const acked: { eventId: string; at: number }[] = [];
  let stopped = false;
  let errors = 0;
  const loops = senders.map(async (user, i) => {
    let n = 0;
    while (!stopped) {
      const res = await send(server, user, roomId, { msgtype: "m.text", body: `${i}-${n++}` });
      if (res.status === 200) acked.push({ eventId: res.body.event_id, at: performance.now() });
      else errors++;
    }
  });
  return {
    acked,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return errors;
    },
  };
}

Deno.test({
  name: "backup: taken while messages are sent; the restored node has every acknowledged event",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-backup-" });
    const dataDir = `${dir}/data`;
    const server = await startTestServer({
      dataDir,
      config: {
        server_name: SERVER_NAME,
        backup: { schedule: "daily", dir: `${dir}/scheduled`, keep: 2 },
      },
    });
    let restored: TestServer | null = null;
    try {
      const alice = await server.register("alice", { password: "alice-password-1" });
      const bob = await server.register("bob", { password: "bob-password-1" });
      const roomId = await createRoom(server, alice, { preset: "public_chat" });
      const join = await server.request("POST", `${V3}/join/${enc(roomId)}`, {
        token: bob.accessToken,
      });
      assertEquals(join.status, 200);
      // A medium of several 64 KiB chunks, so the media area is in the backup too.
      const media = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
      const uploaded = await upload(server, alice.accessToken, media, {
        contentType: "application/octet-stream",
      });
      assertEquals(uploaded.status, 200);
      const keysBefore = (await server.request("GET", "/_matrix/key/v2/server")).body;

      const config = `${dir}/gemeng.toml`;
      await writeConfig(config, dataDir);
      const file = `${dir}/node.backup`;
      const load = startLoad(server, [alice, bob, alice, bob], roomId);
      // Let the load get going, then take the backup while it runs.
      while (load.acked.length < 40) await new Promise((r) => setTimeout(r, 20));
      const ackedBefore = load.acked.slice();
      const backup = await run(["backup", file, "--config", config]);
      const duringBackup = load.acked.length - ackedBefore.length;
      const errors = await load.stop();
      assertEquals(backup.code, 0, backup.stderr);
      assertEquals(errors, 0);
      assert(duringBackup > 0, "messages were acknowledged while the backup ran");
      console.log(
        `  ${ackedBefore.length} events acknowledged before the backup, ${duringBackup} during it`,
      );

      const header = await readBackupHeader(file);
      assertEquals(header.serverName, SERVER_NAME);
      assertEquals(header.dataFormat, server.hs.dataFormat);
      assertEquals(header.files.map((f) => f.name), ["gemeng.kv", "signing.key"]);
      assertEquals(header.files[1].mode, 0o600);

      await t.step("restore refuses a non-empty data directory and a damaged file", async () => {
        const refused = await run(["restore", file, "--config", config]);
        assertEquals(refused.code, 1);
        assert(refused.stderr.includes("not empty"), refused.stderr);
        const bytes = await Deno.readFile(file);
        const cut = `${dir}/cut.backup`;
        await Deno.writeFile(cut, bytes.slice(0, Math.floor(bytes.length / 2)));
        const otherConfig = `${dir}/other.toml`;
        await writeConfig(otherConfig, `${dir}/cut-data`);
        const truncated = await run(["restore", cut, "--config", otherConfig]);
        assertEquals(truncated.code, 1);
        assert(/damaged|ends early|cannot read/.test(truncated.stderr), truncated.stderr);
        assertEquals([...Deno.readDirSync(dir)].some((e) => e.name === "cut-data"), false);
        const wrongName = `${dir}/wrong.toml`;
        await Deno.writeTextFile(
          wrongName,
          `server_name = "other.localhost"\ndata_dir = "${dir}/x"\n`,
        );
        const wrong = await run(["restore", file, "--config", wrongName]);
        assertEquals(wrong.code, 1);
        assert(wrong.stderr.includes("backup.localhost"), wrong.stderr);
      });

      const freshDir = `${dir}/restored`;
      const freshConfig = `${dir}/restored.toml`;
      await writeConfig(freshConfig, freshDir);
      const restore = await run(["restore", file, "--config", freshConfig]);
      assertEquals(restore.code, 0, restore.stderr);
      restored = await startTestServer({ dataDir: freshDir, config: { server_name: SERVER_NAME } });

      const keysAfter = (await restored.request("GET", "/_matrix/key/v2/server")).body;
      assertEquals(keysAfter.verify_keys, keysBefore.verify_keys);
      const alice2 = await restored.login("alice", "alice-password-1");
      await restored.login("bob", "bob-password-1");
      for (const { eventId } of ackedBefore) {
        const res = await restored.request(
          "GET",
          `${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`,
          { token: alice2.accessToken },
        );
        assertEquals(res.status, 200, `${eventId} is missing after the restore`);
      }
      // The timeline reads back through /messages as well, newest first, without a gap.
      const messages = await restored.request(
        "GET",
        `${V3}/rooms/${enc(roomId)}/messages?dir=b&limit=1000`,
        { token: alice2.accessToken },
      );
      const ids = new Set(messages.body.chunk.map((e: { event_id: string }) => e.event_id));
      assert(ackedBefore.every((e) => ids.has(e.eventId)));
      const downloaded = await download(restored, alice2.accessToken, uploaded.body.content_uri);
      assertEquals(downloaded.status, 200);
      assertEquals(new Uint8Array(await downloaded.arrayBuffer()), media);
      // The restored node takes new messages.
      const after = await send(restored, alice2, roomId, { msgtype: "m.text", body: "after" });
      assertEquals(after.status, 200);

      await t.step("scheduled backups keep the newest `keep` files", async () => {
        const scheduler = startBackupSchedule(server.hs);
        assert(scheduler);
        try {
          for (let i = 0; i < 3; i++) await scheduler.runNow();
        } finally {
          await scheduler.stop();
        }
        assertEquals(server.hs.backupStats.failures, 0);
        const names = [...Deno.readDirSync(`${dir}/scheduled`)].map((e) => e.name).sort();
        assertEquals(names.length, 2, names.join(", "));
        const newest = await readBackupHeader(`${dir}/scheduled/${names[1]}`);
        assertEquals(newest.serverName, SERVER_NAME);
        assertEquals(newest.createdTs, server.hs.backupStats.lastSuccessTs);
        // Files the schedule did not name are never deleted.
        await Deno.writeTextFile(`${dir}/scheduled/notes.txt`, "keep me");
        assertEquals(await pruneBackups(`${dir}/scheduled`, 1), [names[0]]);
        assert(Deno.statSync(`${dir}/scheduled/notes.txt`).isFile);
      });
    } finally {
      await restored?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
