/**
 * Media section: upload and download throughput of the content repository over real HTTP on
 * loopback, with an on-disk KV, against raw KV write and read throughput of 64 KiB values
 * measured in the same run (`KvCeilings.writeMBps` / `readMBps`).
 *
 * - upload: a streamed `POST /_matrix/media/v3/upload` (no Content-Length), bytes hashed and
 *   chunked into KV while they arrive.
 * - upload of identical bytes: the same, ending in a dedup (the chunks are written, then
 *   freed in the background).
 * - download: `GET /_matrix/client/v1/media/download/...` read to the end.
 */
import type { KvCeilings } from "./ceilings.ts";
import type { BenchRow } from "./report.ts";
import { startTestServer } from "../tests/support/test_server.ts";
import { MEDIA_TEST_CONFIG, patternStream } from "../tests/support/media_support.ts";
import { MediaRepository } from "../server/media/repository.ts";

async function timedUpload(
  baseUrl: string,
  token: string,
  size: number,
  seed: number,
): Promise<{ seconds: number; mxc: string }> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/_matrix/media/v3/upload`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream" },
    body: patternStream(size, seed).stream,
    duplex: "half",
  } as RequestInit);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`upload failed: ${JSON.stringify(body)}`);
  return { seconds: (performance.now() - started) / 1000, mxc: body.content_uri };
}

async function timedDownload(baseUrl: string, token: string, mxc: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/_matrix/client/v1/media/download/${mxc.slice(6)}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  let bytes = 0;
  for await (const chunk of res.body!) bytes += chunk.byteLength;
  if (res.status !== 200 || bytes === 0) throw new Error(`download failed: ${res.status}`);
  return (performance.now() - started) / 1000;
}

/** Runs the media section. */
export async function runMediaBench(
  options: { quick: boolean; kv: KvCeilings },
): Promise<BenchRow[]> {
  const size = (options.quick ? 32 : 200) * 1_000_000;
  const dataDir = await Deno.makeTempDir({ prefix: "gemeng-bench-media-" });
  const server = await startTestServer({
    dataDir,
    config: { ...MEDIA_TEST_CONFIG, media: { max_upload_size: size * 2 } },
  });
  try {
    const user = await server.register("bench");
    // Warm-up: JIT, connections, KV file.
    const warm = await timedUpload(server.baseUrl, user.accessToken, 4_000_000, 1);
    await timedDownload(server.baseUrl, user.accessToken, warm.mxc);

    const upload = await timedUpload(server.baseUrl, user.accessToken, size, 2);
    await MediaRepository.of(server.hs).idle();
    const duplicate = await timedUpload(server.baseUrl, user.accessToken, size, 2);
    await MediaRepository.of(server.hs).idle();
    const downloadSeconds = await timedDownload(server.baseUrl, user.accessToken, upload.mxc);

    const mb = size / 1e6;
    const row = (name: string, seconds: number, ceilingName: string, ceiling: number) => {
      const value = mb / seconds;
      return {
        section: "media",
        name,
        value,
        unit: "MB/s",
        ceilingName,
        ceiling,
        ratio: value / ceiling,
        note: `${mb} MB over HTTP on loopback, on-disk KV`,
      };
    };
    return [
      row(
        "upload (streamed, chunked into KV)",
        upload.seconds,
        "raw KV write MB/s",
        options.kv.writeMBps,
      ),
      row(
        "upload of identical bytes (dedup)",
        duplicate.seconds,
        "raw KV write MB/s",
        options.kv.writeMBps,
      ),
      row("download (streamed from KV)", downloadSeconds, "raw KV read MB/s", options.kv.readMBps),
    ];
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}
