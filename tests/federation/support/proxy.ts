/**
 * A TCP proxy on loopback for partition tests: a node named `127.0.0.1:<proxy port>` listens
 * on another port, so its peers reach it only through the proxy, and cutting the proxy is a
 * real network partition (open connections are dropped, new ones are closed at once, so a
 * TLS handshake fails like a refused connection would). The proxy only moves bytes; TLS stays
 * end to end between the nodes.
 *
 * @module
 */

/** A running proxy. */
export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** Whether it is cut. */
  readonly isCut: boolean;
  /** Connections relayed so far (accepted while not cut). */
  readonly relayed: number;
  /** Drops every open connection and closes new ones until {@link TcpProxy.restore}. */
  cut(): void;
  /** Relays new connections again. */
  restore(): void;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Deno.Conn;
  upstream: Deno.Conn | null;
}

function closeQuietly(conn: Deno.Conn | null): void {
  if (!conn) return;
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Copies bytes until either side ends or fails. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      let written = 0;
      while (written < n) written += await to.write(buffer.subarray(written, n));
    }
  } catch { /* a side closed: the pair is dropped below */ }
}

/**
 * Starts a proxy on `127.0.0.1:<port>` (a free one by default) relaying to
 * `127.0.0.1:<targetPort>`. The target need not be up yet: each connection dials it.
 */
export function startTcpProxy(targetPort: number, options: { port?: number } = {}): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port ?? 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const pairs = new Set<Pair>();
  const tasks = new Set<Promise<void>>();
  let isCut = false;
  let closed = false;
  let relayed = 0;

  function drop(pair: Pair): void {
    pairs.delete(pair);
    closeQuietly(pair.client);
    closeQuietly(pair.upstream);
  }

  async function relay(client: Deno.Conn): Promise<void> {
    const pair: Pair = { client, upstream: null };
    pairs.add(pair);
    try {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      pair.upstream = upstream;
      // Cut (or closed) while dialling.
      if (!pairs.has(pair)) return drop(pair);
      await Promise.race([pump(client, upstream), pump(upstream, client)]);
    } catch { /* the target is down: the client sees its connection closed */ }
    drop(pair);
  }

  const accepting = (async () => {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (isCut || closed) {
        closeQuietly(conn);
        continue;
      }
      relayed++;
      const task = relay(conn);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();

  return {
    port,
    get isCut() {
      return isCut;
    },
    get relayed() {
      return relayed;
    },
    cut() {
      isCut = true;
      for (const pair of [...pairs]) drop(pair);
    },
    restore() {
      isCut = false;
    },
    async close() {
      closed = true;
      isCut = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const pair of [...pairs]) drop(pair);
      await accepting;
      await Promise.allSettled([...tasks]);
    },
  };
}
