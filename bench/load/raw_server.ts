/**
 * The raw `Deno.serve` ceiling, run as its own process (`deno run -A raw_server.ts PORT`): the
 * least work an HTTP server on this runtime can do for each request shape the client-load
 * scenarios use, driven by the same load generator.
 *
 * - `GET|PUT|POST /json`: reads the body, answers a small JSON object (send, login).
 * - `GET /poll?since=N&timeout=MS`: a long-poll that answers as soon as the counter passes N,
 *   or after the timeout (fan-out, idle long-polls).
 * - `POST /publish`: raises the counter and wakes every waiting poll.
 * - `GET /blob?bytes=N`: a JSON document of about N bytes, built once (initial sync).
 *
 * @module
 */

let counter = 0;
const waiters = new Set<() => void>();
const blobs = new Map<number, string>();

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });
}

function blob(bytes: number): string {
  let text = blobs.get(bytes);
  if (text === undefined) {
    const items: string[] = [];
    let size = 20;
    for (let i = 0; size < bytes; i++) {
      const item = JSON.stringify({ id: `$event${i}`, body: "x".repeat(100) });
      items.push(item);
      size += item.length + 1;
    }
    text = `{"items":[${items.join(",")}]}`;
    blobs.set(bytes, text);
  }
  return text;
}

async function poll(url: URL, signal: AbortSignal): Promise<Response> {
  const since = Number(url.searchParams.get("since") ?? 0);
  const timeout = Number(url.searchParams.get("timeout") ?? 30_000);
  if (counter <= since) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeout);
      waiters.add(done);
      signal.addEventListener("abort", done);
    });
  }
  return json({ next: counter });
}

/** Serves the ceiling endpoints on `port` until the process is killed. */
export function serveRaw(port: number): Deno.HttpServer {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/json":
        if (req.body) await req.arrayBuffer();
        return json({ event_id: "$raw" });
      case "/poll":
        return await poll(url, req.signal);
      case "/publish": {
        if (req.body) await req.arrayBuffer();
        counter++;
        for (const wake of [...waiters]) wake();
        return json({ next: counter });
      }
      case "/blob":
        return new Response(blob(Number(url.searchParams.get("bytes") ?? 1000)), {
          headers: { "content-type": "application/json" },
        });
      default:
        return new Response("not found", { status: 404 });
    }
  });
}

if (import.meta.main) {
  serveRaw(Number(Deno.args[0] ?? 0));
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
