/**
 * The front of a server with `[http] tls` on: the certificate source (`files` or `acme`) and
 * the plain-HTTP `http_listen` listener, which answers ACME HTTP-01 challenges and sends
 * everything else to `public_base_url` (a 308 keeps the method and body).
 *
 * @module
 */

import { type Config, httpListenAddress } from "../config.ts";
import { AcmeCertificates } from "./acme.ts";
import type { CertificateFacts, CertificateSource } from "./certificates.ts";
import { FileCertificates } from "./cert_files.ts";

/** Options of {@link startHttpsFront}. */
export interface HttpsFrontOptions {
  /** Override `http_listen`'s host. */
  httpHostname?: string;
  /** Override `http_listen`'s port (0 picks a free one). */
  httpPort?: number;
  /** Called once the plain listener is bound. */
  onHttpListen?: (addr: Deno.NetAddr) => void;
  /** How often `tls = "files"` reads the files (default 30 s). */
  pollMs?: number;
  /** Where certificate messages go (default `console.error`). */
  log?: (line: string) => void;
}

/** A certificate source that can say what its certificate is. */
export type FactfulSource = CertificateSource & { facts(): CertificateFacts | null };

/** The started front. */
export interface HttpsFront {
  certificates: FactfulSource;
  /** The ACME source when `tls = "acme"` (for `renewNow`). */
  acme: AcmeCertificates | null;
  /** The plain listener, when `http_listen` is set. */
  plain: Deno.HttpServer<Deno.NetAddr> | null;
}

const CHALLENGE_PATH = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]{1,256})$/;

/** The plain listener's answer to `request`. */
export function plainHttpAnswer(
  request: Request,
  options: { publicBaseUrl: string; acme: AcmeCertificates | null },
): Response {
  const url = new URL(request.url);
  const challenge = CHALLENGE_PATH.exec(url.pathname);
  if (challenge) {
    const answer = options.acme?.challengeResponse(challenge[1]) ?? null;
    return answer === null
      ? new Response("no such challenge\n", { status: 404 })
      : new Response(answer, { headers: { "Content-Type": "application/octet-stream" } });
  }
  // Always to the configured address: the Host header is the client's to choose.
  return new Response(null, {
    status: 308,
    headers: { Location: `${options.publicBaseUrl}${url.pathname}${url.search}` },
  });
}

/**
 * Starts the plain listener (when configured) and gets the first certificate.
 *
 * @throws {import("../config.ts").ConfigError} for unreadable `files`, or
 *   {@link import("./acme.ts").AcmeError} when the CA gave no certificate
 */
export async function startHttpsFront(
  config: Config,
  options: HttpsFrontOptions = {},
): Promise<HttpsFront> {
  const acme = config.http.tls === "acme"
    ? new AcmeCertificates(config, { log: options.log })
    : null;
  const certificates: FactfulSource = acme ??
    new FileCertificates(config.http.tlsCert, {
      keyPath: config.http.tlsKey,
      pollMs: options.pollMs,
      log: options.log,
    });
  const address = httpListenAddress(config);
  let plain: Deno.HttpServer<Deno.NetAddr> | null = null;
  if (address) {
    plain = Deno.serve({
      hostname: options.httpHostname ?? address.hostname,
      port: options.httpPort ?? address.port,
      onListen: options.onHttpListen ?? (() => {}),
    }, (request) => plainHttpAnswer(request, { publicBaseUrl: config.http.publicBaseUrl, acme }));
  }
  try {
    await certificates.start();
  } catch (err) {
    await plain?.shutdown();
    await certificates.close();
    throw err;
  }
  return { certificates, acme, plain };
}
