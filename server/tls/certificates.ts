/**
 * Where the main listener's certificate comes from: {@link CertificateSource}, implemented by
 * `cert_files.ts` (`tls = "files"`) and `acme.ts` (`tls = "acme"`), and what we can read out of
 * a certificate for logs and the start-up self-check.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import type { CertificatePair } from "./tls_server.ts";

/** Takes a new certificate into use (a listener's `setCertificate`). */
export type CertificateListener = (pair: CertificatePair) => void | Promise<void>;

/** A source of certificates that may change while the server runs. */
export interface CertificateSource {
  /** Gets the first certificate (reads files, loads a stored one, or asks the CA). */
  start(): Promise<void>;
  /** The certificate in use; null before {@link start} finished. */
  current(): CertificatePair | null;
  /**
   * Calls `listener` with each new certificate before it counts as in use; a listener that
   * throws (or rejects) refuses it.
   */
  onChange(listener: CertificateListener): void;
  /** Stops timers and watchers. */
  close(): Promise<void>;
}

/** What a certificate says about itself. */
export interface CertificateFacts {
  /** DNS names and IP addresses of its subjectAltName (or its CN when there is none). */
  names: string[];
  notBefore: number;
  notAfter: number;
  issuer: string;
}

/** A certificate that cannot be used. */
export class CertificateError extends Error {
  /** Always `CERTIFICATE_INVALID`. */
  readonly code = "CERTIFICATE_INVALID";
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "CertificateError";
  }
}

/**
 * Reads the leaf of a PEM chain, and checks that `key` (when given) is its private key.
 *
 * @throws {CertificateError} for a chain or key that does not parse or does not match
 */
export function certificateFacts(pem: string, key?: string): CertificateFacts {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!first) throw new CertificateError("no PEM certificate found");
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first[0]);
  } catch (err) {
    throw new CertificateError(`the certificate does not parse: ${String(err)}`);
  }
  if (key !== undefined) {
    let matches = false;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(key));
    } catch { /* unparsable key: reported below */ }
    if (!matches) throw new CertificateError("the private key does not belong to the certificate");
  }
  const names: string[] = [];
  for (const part of (cert.subjectAltName ?? "").split(/,\s*/)) {
    const match = /^(DNS|IP Address):(.+)$/.exec(part.trim());
    if (match) names.push(match[2]);
  }
  if (names.length === 0) {
    const cn = /CN=([^\n,]+)/.exec(cert.subject);
    if (cn) names.push(cn[1]);
  }
  return {
    names,
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    issuer: cert.issuer.replace(/\n/g, ", "),
  };
}

/** Whether certificate `names` cover `host` (exact, or a `*.` wildcard for one label). */
export function certificateCovers(names: readonly string[], host: string): boolean {
  const wanted = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return names.some((raw) => {
    const name = raw.toLowerCase();
    if (name === wanted) return true;
    if (!name.startsWith("*.")) return false;
    const dot = wanted.indexOf(".");
    return dot > 0 && wanted.slice(dot + 1) === name.slice(2);
  });
}
