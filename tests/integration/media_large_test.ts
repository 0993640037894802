import { assert, assertEquals } from "../unit/assert.ts";
import { hashStream, patternStream } from "../support/media_support.ts";

const MiB = 1024 * 1024;

/** Resident memory of a process, from /proc (Linux). */
async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

async function uploadStream(
  baseUrl: string,
  token: string,
  stream: ReadableStream<Uint8Array>,
): Promise<string> {
  const res = await fetch(`${baseUrl}/_matrix/media/v3/upload?filename=big.bin`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
    body: stream,
    // @ts-ignore: Deno needs duplex for a streamed request body
    duplex: "half",
  });
  const body = await res.json();
  assertEquals(res.status, 200, JSON.stringify(body));
  return body.content_uri;
}

Deno.test({
  name: "200 MB upload and download: identical SHA-256, server memory grows < 64 MB",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "gemeng-media-large-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../support/media_server_process.ts", import.meta.url).pathname,
        dataDir,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const stdin = child.stdin.getWriter();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let first = "";
      while (!first.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("server process ended early");
        first += value;
      }
      const { baseUrl, accessToken } = JSON.parse(first.split("\n")[0]);

      // Warm up (JIT, HTTP and KV buffers) so the baseline is the steady state.
      await uploadStream(baseUrl, accessToken, patternStream(8 * MiB, 99).stream);
      const baseline = await rssOf(child.pid);

      let peak = baseline;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await rssOf(child.pid));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const size = 200 * 1000 * 1000;
      const source = patternStream(size, 2024);
      const started = performance.now();
      const mxc = await uploadStream(baseUrl, accessToken, source.stream);
      const uploadMs = performance.now() - started;
      sampling = false;
      await sampler;
      const growth = peak - baseline;
      console.log(
        `200 MB upload: ${(uploadMs / 1000).toFixed(1)} s, server RSS ${
          (baseline / MiB).toFixed(0)
        } MiB -> peak ${(peak / MiB).toFixed(0)} MiB (+${(growth / MiB).toFixed(1)} MiB)`,
      );
      assert(growth < 64 * MiB, `resident memory grew by ${(growth / MiB).toFixed(1)} MiB`);

      const t0 = performance.now();
      const res = await fetch(`${baseUrl}/_matrix/client/v1/media/download/${mxc.slice(6)}`, {
        headers: { Authorization: `Bearer ${accessToken}` },
      });
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("content-length"), String(size));
      const got = await hashStream(res.body!);
      console.log(`200 MB download: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assertEquals(got.size, size);
      assertEquals(got.sha256, await source.digest);

      // A range deep inside the file (video seeking).
      const tail = await fetch(`${baseUrl}/_matrix/client/v1/media/download/${mxc.slice(6)}`, {
        headers: { Authorization: `Bearer ${accessToken}`, Range: `bytes=${size - 1000}-` },
      });
      assertEquals(tail.status, 206);
      assertEquals((await tail.arrayBuffer()).byteLength, 1000);
    } finally {
      await stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await child.status;
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
