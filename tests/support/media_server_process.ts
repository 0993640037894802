/**
 * A test homeserver in its own process (for measuring its memory without the test's own
 * buffers): on-disk KV under the data directory given as the first argument, uploads up to
 * 300 MB. Prints one JSON line `{baseUrl, accessToken}` and runs until stdin closes.
 *
 * @module
 */

import { startTestServer } from "./test_server.ts";
import { MEDIA_TEST_CONFIG } from "./media_support.ts";

const dataDir = Deno.args[0];
if (!dataDir) throw new Error("usage: media_server_process.ts DATA_DIR");
const server = await startTestServer({
  dataDir,
  config: { ...MEDIA_TEST_CONFIG, media: { max_upload_size: 300 * 1024 * 1024 } },
});
const alice = await server.register("alice");
console.log(JSON.stringify({ baseUrl: server.baseUrl, accessToken: alice.accessToken }));
for await (const _ of Deno.stdin.readable) { /* wait for the parent to close stdin */ }
await server.close();
