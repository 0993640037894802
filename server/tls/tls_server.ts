/**
 * An HTTPS server whose certificate can be replaced while it runs ({@link serveTls}).
 *
 * Deno binds a certificate to a TLS listener when it is created, so a new certificate means a
 * new listener: it is bound beside the old one on the same address (`SO_REUSEPORT`), takes over
 * accepting, and the old listener is closed. Connections already accepted are not touched: their
 * requests (a long-polling `/sync` among them) finish on the certificate they began with, and
 * their keep-alive continues. Where `SO_REUSEPORT` is not available (Deno without
 * `--unstable-net`), the old listener is closed just before the new one is bound.
 *
 * @module
 */

/** A PEM certificate chain and its private key. */
export interface CertificatePair {
  /** The leaf first, then the intermediates. */
  readonly cert: string;
  /** The private key of the leaf. */
  readonly key: string;
}

/** A running HTTPS server. */
export interface TlsServer extends Deno.HttpServer<Deno.NetAddr> {
  /**
   * Serves new connections with `pair`; open connections keep theirs.
   *
   * @throws when the pair is unusable (the old certificate stays in use)
   */
  setCertificate(pair: CertificatePair): Promise<void>;
}

/** The request handler of {@link serveTls}. */
export type TlsHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of {@link serveTls}. */
export interface ServeTlsOptions extends CertificatePair {
  hostname: string;
  /** 0 picks a free port (kept across certificate changes). */
  port: number;
  /** Called once the first listener is bound. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** The connection-level HTTP server of `Deno.serveHttp` (left out of Deno 2's types). */
interface HttpConn extends
  AsyncIterable<{
    request: Request;
    respondWith(response: Response): Promise<void>;
  }> {
  close(): void;
}

type ServeHttp = (conn: Deno.Conn) => HttpConn;

function bindTls(
  options: { hostname: string; port: number } & CertificatePair,
  reusePort: boolean,
): Deno.TlsListener {
  return Deno.listenTls({
    hostname: options.hostname,
    port: options.port,
    cert: options.cert,
    key: options.key,
    // HTTP/2 through serveHttp answered about 9 ms later than HTTP/1.1 in a local test.
    alpnProtocols: ["http/1.1"],
    ...(reusePort ? { reusePort: true } : {}),
  });
}

/**
 * How long a replaced listener goes on accepting beside its successor. Closing a listener resets
 * the connections waiting in its queue (unless the kernel migrates them:
 * `net.ipv4.tcp_migrate_req = 1`); while both accept, its queue stays empty.
 */
export const RETIRE_GRACE_MS = 1000;

function closeQuietly(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch { /* closed already */ }
}

/** Binds without `SO_REUSEPORT` right after a close (Deno releases the address a bit later). */
async function bindSoon(
  options: { hostname: string; port: number } & CertificatePair,
): Promise<Deno.TlsListener> {
  for (let attempt = 0;; attempt++) {
    try {
      return bindTls(options, false);
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse) || attempt >= 200) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * Starts an HTTPS server on `Deno.listenTls` + `Deno.serveHttp`. `Deno.serve` with `cert`/`key`
 * answers every response of more than a few hundred bytes about 40 ms late (its TLS writes
 * split a response and meet the peer's delayed ACK), which capped a federation peer's
 * transactions at about 20 a second; this path writes them whole.
 */
export function serveTls(options: ServeTlsOptions, handler: TlsHandler): TlsServer {
  const serveHttp = (Deno as unknown as { serveHttp?: ServeHttp }).serveHttp;
  if (typeof serveHttp !== "function") return serveStandard(options, handler);
  // SO_REUSEPORT would let a second server (a gemeng started twice) share the port silently:
  // an exclusive bind first makes that an AddrInUse, as without it.
  const probe = Deno.listen({ hostname: options.hostname, port: options.port });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  // `reusePort` on a TLS listener is behind `--unstable-net` (deno.json turns it on), and asking
  // for it without the flag ends the process; `listenDatagram` exists exactly with the flag.
  // Without it, swaps close the old listener just before they bind the new one.
  const reusePort = typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
  let listener = bindTls({ ...options, port }, reusePort);
  const addr = listener.addr as Deno.NetAddr;
  options.onListen?.(addr);
  const conns = new Set<HttpConn>();
  const pending = new Set<Promise<unknown>>();
  const accepting = new Set<Promise<void>>();
  let closing = false;

  const serveConn = async (conn: Deno.Conn) => {
    let http: HttpConn;
    try {
      http = serveHttp(conn);
    } catch {
      conn.close();
      return;
    }
    conns.add(http);
    const info = {
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      completed: Promise.resolve(),
    } as Deno.ServeHandlerInfo<Deno.NetAddr>;
    try {
      for await (const event of http) {
        const answering = (async () => {
          let response: Response;
          try {
            response = await handler(event.request, info);
          } catch {
            response = new Response(null, { status: 500 });
          }
          await event.respondWith(response).catch(() => {});
        })();
        pending.add(answering);
        answering.finally(() => pending.delete(answering));
        if (closing) break;
      }
    } catch {
      // A connection that broke mid-request (or a failed handshake): nothing to answer.
    } finally {
      conns.delete(http);
      try {
        http.close();
      } catch { /* closed already */ }
    }
  };
  const accept = (from: Deno.TlsListener) => {
    const loop = (async () => {
      try {
        for await (const conn of from) serveConn(conn);
      } catch {
        // The listener was closed.
      }
    })();
    accepting.add(loop);
    loop.finally(() => accepting.delete(loop));
  };
  accept(listener);
  let inUse: CertificatePair = { cert: options.cert, key: options.key };

  // Listeners replaced by a newer one, still accepting until their grace period ends.
  const retiring = new Set<Deno.TlsListener>();
  const retire = (old: Deno.TlsListener) => {
    retiring.add(old);
    const timer = setTimeout(() => {
      retiring.delete(old);
      closeQuietly(old);
    }, RETIRE_GRACE_MS);
    Deno.unrefTimer(timer);
  };

  const setCertificate = async (pair: CertificatePair) => {
    if (closing) return;
    const bindOptions = { hostname: options.hostname, port: addr.port, ...pair };
    const old = listener;
    if (reusePort) {
      listener = bindTls(bindOptions, true);
      accept(listener);
      retire(old);
      inUse = pair;
      return;
    }
    // Checked on a free port first, so a bad pair never leaves the address unbound.
    closeQuietly(bindTls({ ...bindOptions, port: 0 }, false));
    old.close();
    try {
      listener = await bindSoon(bindOptions);
    } catch (err) {
      // The address stays served, with the pair it had.
      listener = await bindSoon({ ...bindOptions, ...inUse });
      accept(listener);
      throw err;
    }
    accept(listener);
    inUse = pair;
  };

  let finishResolve: () => void;
  const finished = new Promise<void>((resolve) => finishResolve = resolve);
  const shutdown = async () => {
    if (closing) return await finished;
    closing = true;
    closeQuietly(listener);
    for (const old of retiring) closeQuietly(old);
    retiring.clear();
    await Promise.all([...accepting]);
    await Promise.allSettled([...pending]);
    for (const http of conns) {
      try {
        http.close();
      } catch { /* closed already */ }
    }
    finishResolve();
  };
  return {
    addr,
    finished,
    shutdown,
    setCertificate,
    ref: () => listener.ref(),
    unref: () => listener.unref(),
    [Symbol.asyncDispose]: shutdown,
  } as TlsServer;
}

/**
 * A Deno without `serveHttp`: the standard server (correct, slower; see {@link serveTls}). A new
 * certificate starts a second server on the port (`reusePort`, stable there) and shuts the old
 * one down gracefully, which lets its open requests finish.
 */
function serveStandard(options: ServeTlsOptions, handler: TlsHandler): TlsServer {
  const start = (pair: CertificatePair, port: number, onListen?: (a: Deno.NetAddr) => void) =>
    Deno.serve({
      hostname: options.hostname,
      port,
      reusePort: true,
      cert: pair.cert,
      key: pair.key,
      onListen: onListen ?? (() => {}),
    }, handler);
  let current = start(options, options.port, options.onListen);
  const addr = current.addr;
  const retiring = new Set<Promise<void>>();
  let closing = false;
  let finishResolve: () => void;
  const finished = new Promise<void>((resolve) => finishResolve = resolve);
  const shutdown = async () => {
    if (closing) return await finished;
    closing = true;
    await current.shutdown();
    await Promise.all([...retiring]);
    finishResolve();
  };
  return {
    addr,
    finished,
    shutdown,
    setCertificate(pair: CertificatePair) {
      if (closing) return Promise.resolve();
      const old = current;
      try {
        current = start(pair, addr.port);
      } catch (err) {
        return Promise.reject(err);
      }
      const done = old.shutdown();
      retiring.add(done);
      done.finally(() => retiring.delete(done));
      return Promise.resolve();
    },
    ref: () => current.ref(),
    unref: () => current.unref(),
    [Symbol.asyncDispose]: shutdown,
  } as TlsServer;
}
