/**
 * Malware scanning against Debian's real ClamAV daemon, started here with a signature database
 * made in the test (`sigtool --md5` of the EICAR test file: the public signature feeds cannot be
 * downloaded here). Two servers share the daemon, one fail-closed and one fail-open: EICAR is
 * refused (by POST, by PUT into a `/create` ID, and when fetched as a remote medium) and
 * recorded, a clean file goes through and downloads, and with clamd stopped the fail-closed
 * server refuses uploads while the fail-open one accepts and records them as unscanned.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { MatrixError } from "../../server/errors.ts";
import { MediaRepository } from "../../server/media/repository.ts";
import { updateUser } from "../../server/store/accounts.ts";
import { download, MEDIA_TEST_CONFIG, patternBytes, upload } from "../support/media_support.ts";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { CLAMD_MISSING, EICAR, startClamd } from "../support/clamd.ts";

if (CLAMD_MISSING) console.warn(`media scanner test skipped: ${CLAMD_MISSING}`);

function scannerServer(socket: string, failMode: "closed" | "open"): Promise<TestServer> {
  const scanner = {
    enabled: true,
    clamd: socket,
    fail_mode: failMode,
    timeout_ms: 5000,
    max_scan_size: 400_000,
  };
  return startTestServer({ config: { ...MEDIA_TEST_CONFIG, media: { scanner } } });
}

async function admin(server: TestServer, localpart: string) {
  const user = await server.register(localpart);
  await updateUser(server.hs.kv, user.userId, (u) => ({ ...u, admin: true }));
  return user;
}

Deno.test({
  name: "media scanner: clamd refuses EICAR, passes clean files; fail-closed and fail-open",
  ignore: CLAMD_MISSING !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "gemeng-clamd-" });
    const clamd = await startClamd(dir);
    const closed = await scannerServer(clamd.socket, "closed");
    const open = await scannerServer(clamd.socket, "open");
    try {
      const alice = await admin(closed, "alice");
      const clean = new TextEncoder().encode("minutes of the council meeting, 3 December");

      // EICAR by POST: refused with the content scanner's reason, nothing stored.
      const refused = await upload(closed, alice.accessToken, EICAR, { filename: "eicar.com" });
      assertEquals(refused.status, 403);
      assertEquals(refused.body.errcode, "M_FORBIDDEN");
      assertEquals(refused.body.reason, "MCS_MEDIA_NOT_CLEAN");
      assert(String(refused.body.error).includes("eicar.com.UNOFFICIAL"), refused.body.error);

      // EICAR into a /create ID: refused, and the ID never becomes downloadable.
      const created = await closed.request("POST", "/_matrix/media/v1/create", {
        token: alice.accessToken,
        body: {},
      });
      const mxc = created.body.content_uri as string;
      const put = await upload(closed, alice.accessToken, EICAR, { mxc });
      assertEquals(put.status, 403);
      const pending = await download(closed, alice.accessToken, mxc, { query: "?timeout_ms=0" });
      await pending.body?.cancel();
      assertEquals(pending.status, 504);

      // A clean file goes through and downloads as it was.
      const ok = await upload(closed, alice.accessToken, clean, { filename: "minutes.txt" });
      assertEquals(ok.status, 200);
      const got = await download(closed, alice.accessToken, ok.body.content_uri);
      assertEquals(got.status, 200);
      assertEquals(new Uint8Array(await got.arrayBuffer()), clean);

      // A file of many chunks streams through clamd beside the KV writes.
      const big = await patternBytes(300_000, 7);
      const bigUp = await upload(closed, alice.accessToken, big);
      assertEquals(bigUp.status, 200);
      const bigGot = await download(closed, alice.accessToken, bigUp.body.content_uri);
      assertEquals(new Uint8Array(await bigGot.arrayBuffer()), big);

      // Above max_scan_size, fail-closed refuses the file as too large, and /config says so;
      // a body without Content-Length is refused once it passes the limit.
      const config = await closed.request("GET", "/_matrix/client/v1/media/config", {
        token: alice.accessToken,
      });
      assertEquals(config.body["m.upload.size"], 400_000);
      const huge = await upload(closed, alice.accessToken, await patternBytes(500_000, 9));
      assertEquals([huge.status, huge.body.errcode], [413, "M_TOO_LARGE"]);
      const streamed = await upload(
        closed,
        alice.accessToken,
        new Blob([await patternBytes(500_000, 10)]).stream(),
      );
      assertEquals([streamed.status, streamed.body.errcode], [413, "M_TOO_LARGE"]);

      // Remote media are scanned before they are cached.
      const repo = MediaRepository.of(closed.hs);
      let remoteError: unknown = null;
      try {
        await repo.storeBytes(EICAR, {
          contentType: "application/octet-stream",
          fileName: null,
          origin: "remote.example",
          mediaId: "infectedRemote1",
          cachedTs: Date.now(),
        });
      } catch (err) {
        remoteError = err;
      }
      assert(remoteError instanceof MatrixError && remoteError.status === 403);

      // The admin sees the refused files, newest first, with a page token.
      const list = await closed.request("GET", "/_synapse/admin/v1/gemeng/media/infected?limit=2", {
        token: alice.accessToken,
      });
      assertEquals(list.status, 200);
      assertEquals(list.body.files.length, 2);
      assertEquals(list.body.files[0].source, "remote");
      assertEquals(list.body.files[0].mxc, "mxc://remote.example/infectedRemote1");
      assertEquals(list.body.files[1].mxc, mxc);
      assertEquals(list.body.files[1].user_id, alice.userId);
      assertEquals(list.body.files[1].signature, "eicar.com.UNOFFICIAL");
      const rest = await closed.request(
        "GET",
        `/_synapse/admin/v1/gemeng/media/infected?from=${list.body.next_token}`,
        { token: alice.accessToken },
      );
      assertEquals(rest.body.files.length, 1);
      assertEquals(rest.body.files[0].file_name, "eicar.com");
      assertEquals(rest.body.next_token, undefined);
      const notAdmin = await closed.register("bob");
      const denied = await closed.request("GET", "/_synapse/admin/v1/gemeng/media/infected", {
        token: notAdmin.accessToken,
      });
      assertEquals(denied.status, 403);
      const badFrom = await closed.request(
        "GET",
        "/_synapse/admin/v1/gemeng/media/infected?from=x",
        {
          token: alice.accessToken,
        },
      );
      assertEquals(badFrom.status, 400);

      // clamd down: fail-closed refuses, fail-open accepts and records "unscanned".
      await clamd.stop();
      const down = await upload(closed, alice.accessToken, clean);
      assertEquals(down.status, 503);
      assertEquals(down.body.errcode, "M_UNKNOWN");
      const carol = await admin(open, "carol");
      const accepted = await upload(open, carol.accessToken, clean, { filename: "minutes.txt" });
      assertEquals(accepted.status, 200);
      const served = await download(open, carol.accessToken, accepted.body.content_uri);
      assertEquals(new Uint8Array(await served.arrayBuffer()), clean);
      const unscanned = await open.request("GET", "/_synapse/admin/v1/gemeng/media/unscanned", {
        token: carol.accessToken,
      });
      assertEquals(unscanned.status, 200);
      assertEquals(unscanned.body.media.length, 1);
      assertEquals(unscanned.body.media[0].mxc, accepted.body.content_uri);
      assertEquals(unscanned.body.media[0].user_id, carol.userId);
    } finally {
      await clamd.stop();
      await closed.close();
      await open.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
