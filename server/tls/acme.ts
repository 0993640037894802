/**
 * `tls = "acme"`: certificates from an ACME CA (RFC 8555) through the `acme-client` library,
 * proved with HTTP-01 challenges that the plain `http_listen` listener answers
 * ({@link AcmeCertificates.challengeResponse}).
 *
 * Storage: files under `${data_dir}/acme/<directory>/` (one folder per ACME directory, so a
 * switch from a staging CA to the real one starts a fresh account): `account.key` (the account's
 * ECDSA P-256 key), `cert.pem` (the chain) and `key.pem` (the certificate's key), written
 * atomically with mode 0600. A stored certificate that covers `acme_domains` is used at start;
 * a new one is ordered at two thirds of its lifetime (retried with growing pauses, at most an
 * hour apart, until it works) and taken into use without a restart.
 *
 * @module
 */

import type AcmeClient from "acme-client";
import type { Config } from "../config.ts";
import {
  certificateCovers,
  CertificateError,
  type CertificateFacts,
  certificateFacts,
  type CertificateListener,
  type CertificateSource,
} from "./certificates.ts";
import type { CertificatePair } from "./tls_server.ts";

/** The longest pause between two attempts to get a certificate. */
const MAX_RETRY_MS = 3_600_000;

/** An ACME order that failed. */
export class AcmeError extends Error {
  /** Always `ACME_FAILED`. */
  readonly code = "ACME_FAILED";
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "AcmeError";
  }
}

// acme-client sends every request through one shared axios instance; requests to a directory
// with its own CA go through Deno's fetch with a client that trusts that CA.
const caClients = new Map<string, Deno.HttpClient>();
/** The request timeout of each directory's origin (axios has none by default). */
const requestTimeouts = new Map<string, number>();
let interceptorInstalled = false;

/** How long one request to the CA may take by default. */
export const ACME_REQUEST_TIMEOUT_MS = 30_000;

// Loaded on first use only: acme-client and axios add about 30 MB to every server's resident
// memory, and most servers never use ACME (docs/benchmarks.md).
let acmeModule: Promise<typeof AcmeClient> | null = null;
function loadAcme(): Promise<typeof AcmeClient> {
  acmeModule ??= import("acme-client").then((m) => m.default);
  return acmeModule;
}

async function useDenoFetch(
  directoryUrl: string,
  caPem: string | null,
  timeoutMs: number,
): Promise<void> {
  const acme = await loadAcme();
  requestTimeouts.set(new URL(directoryUrl).origin, timeoutMs);
  if (caPem !== null) {
    const origin = new URL(directoryUrl).origin;
    caClients.get(origin)?.close();
    caClients.set(origin, Deno.createHttpClient({ caCerts: [caPem] }));
  }
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  // deno-lint-ignore no-explicit-any
  acme.axios.interceptors.request.use((request: any) => {
    request.adapter = "fetch";
    const origin = request.url ? new URL(request.url).origin : "";
    const client = caClients.get(origin);
    if (client) request.fetchOptions = { ...request.fetchOptions, client };
    // A CA that accepts and never answers must not hold the start or the renewals forever.
    request.timeout ||= requestTimeouts.get(origin) ?? ACME_REQUEST_TIMEOUT_MS;
    return request;
  });
}

/** Pause before attempt `failures + 1`, for a certificate of `lifetimeMs` (0 if none yet). */
export function retryDelayMs(failures: number, lifetimeMs: number): number {
  const base = lifetimeMs > 0 ? Math.min(60_000, Math.max(1000, lifetimeMs / 30)) : 60_000;
  return Math.min(MAX_RETRY_MS, base * 2 ** Math.max(0, failures - 1));
}

/** When a certificate valid from `notBefore` to `notAfter` should be replaced. */
export function renewalTime(notBefore: number, notAfter: number): number {
  return notBefore + (notAfter - notBefore) * 2 / 3;
}

/** Options of {@link AcmeCertificates}. */
export interface AcmeOptions {
  /** Where messages go (default `console.error`). */
  log?: (line: string) => void;
  /** The clock (tests). */
  now?: () => number;
  /** How long one request to the CA may take (default {@link ACME_REQUEST_TIMEOUT_MS}). */
  requestTimeoutMs?: number;
}

/** Certificates from an ACME CA, renewed before they expire. */
export class AcmeCertificates implements CertificateSource {
  readonly #config: Config["http"];
  readonly #dir: string;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #requestTimeoutMs: number;
  readonly #listeners: CertificateListener[] = [];
  readonly #challenges = new Map<string, string>();
  #pair: CertificatePair | null = null;
  #facts: CertificateFacts | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #failures = 0;
  #ordering: Promise<void> | null = null;
  /** Certificates issued by this process (tests, logs). */
  issued = 0;

  /**
   * @param config the validated configuration (`http.*` and `data_dir`)
   * @param options logging and clock
   */
  constructor(config: Config, options: AcmeOptions = {}) {
    this.#config = config.http;
    const folder = config.http.acmeDirectory.replace(/^https:\/\//, "").replace(
      /[^A-Za-z0-9.-]+/g,
      "_",
    );
    this.#dir = `${config.dataDir.replace(/\/+$/, "")}/acme/${folder}`;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#now = options.now ?? Date.now;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? ACME_REQUEST_TIMEOUT_MS;
  }

  /** The folder the account key and certificates live in. */
  get directory(): string {
    return this.#dir;
  }

  /** The key authorization for an HTTP-01 `token` being validated, or null. */
  challengeResponse(token: string): string | null {
    return this.#challenges.get(token) ?? null;
  }

  /**
   * Uses the stored certificate when it covers `acme_domains` and has not expired, else
   * orders one (the plain listener must already answer challenges).
   *
   * @throws {AcmeError} when there is no usable certificate and the CA gave none
   */
  async start(): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const caPem = this.#config.acmeCa === "" ? null : await readCa(this.#config.acmeCa);
    await useDenoFetch(this.#config.acmeDirectory, caPem, this.#requestTimeoutMs);
    const stored = await this.#loadStored();
    if (stored) {
      this.#pair = stored.pair;
      this.#facts = stored.facts;
      this.#log(
        `tls: using the stored certificate for ${stored.facts.names.join(", ")} ` +
          `(valid until ${new Date(stored.facts.notAfter).toISOString()})`,
      );
      this.#scheduleRenewal();
      return;
    }
    await this.renewNow();
  }

  current(): CertificatePair | null {
    return this.#pair;
  }

  /** What the certificate in use says (null before the first). */
  facts(): CertificateFacts | null {
    return this.#facts;
  }

  onChange(listener: CertificateListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Orders a certificate now and takes it into use (one order at a time: a second call joins
   * the running one).
   *
   * @throws {AcmeError} when the order fails (the certificate in use stays)
   */
  renewNow(): Promise<void> {
    this.#ordering ??= this.#order().finally(() => this.#ordering = null);
    return this.#ordering;
  }

  /** Stops renewals; an order under way is not waited for (the CA may take minutes). */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    return Promise.resolve();
  }

  async #order(): Promise<void> {
    const domains = [...this.#config.acmeDomains];
    let pair: CertificatePair;
    try {
      pair = await this.#issue(domains);
    } catch (err) {
      this.#failures++;
      const detail = err instanceof Error ? err.message : String(err);
      const error = new AcmeError(
        `no certificate for ${domains.join(", ")} from ${this.#config.acmeDirectory}: ${detail}`,
      );
      this.#log(`tls: ${error.message}`);
      this.#scheduleRenewal();
      throw error;
    }
    if (this.#closed) return;
    const facts = certificateFacts(pair.cert, pair.key);
    await writePrivate(`${this.#dir}/key.pem`, pair.key);
    await writePrivate(`${this.#dir}/cert.pem`, pair.cert);
    this.#failures = 0;
    this.issued++;
    for (const listener of this.#listeners) {
      try {
        await listener(pair);
      } catch (err) {
        this.#log(`tls: the new certificate could not be taken into use: ${String(err)}`);
      }
    }
    this.#pair = pair;
    this.#facts = facts;
    this.#log(
      `tls: new certificate for ${facts.names.join(", ")} from ${facts.issuer} ` +
        `(valid until ${new Date(facts.notAfter).toISOString()})`,
    );
    this.#scheduleRenewal();
  }

  async #issue(domains: string[]): Promise<CertificatePair> {
    const acme = await loadAcme();
    const client = new acme.Client({
      directoryUrl: this.#config.acmeDirectory,
      accountKey: await this.#accountKey(),
      // Polling of pending challenges and orders: quick first, then slower.
      backoffAttempts: 12,
      backoffMin: 500,
      backoffMax: 10_000,
    });
    await client.createAccount({
      termsOfServiceAgreed: true,
      ...(this.#config.acmeEmail ? { contact: [`mailto:${this.#config.acmeEmail}`] } : {}),
    });
    const order = await client.createOrder({
      identifiers: domains.map((value) => ({ type: "dns", value })),
    });
    const tokens: string[] = [];
    try {
      for (const authz of await client.getAuthorizations(order)) {
        if (authz.status === "valid") continue;
        const challenge = authz.challenges.find((item) => item.type === "http-01");
        if (!challenge) {
          throw new AcmeError(`the CA offers no http-01 challenge for ${authz.identifier.value}`);
        }
        this.#challenges.set(challenge.token, await client.getChallengeKeyAuthorization(challenge));
        tokens.push(challenge.token);
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      }
      const [key, csr] = await acme.crypto.createCsr(
        { commonName: domains[0], altNames: domains },
        await acme.crypto.createPrivateEcdsaKey(),
      );
      const finalized = await client.finalizeOrder(order, csr);
      const cert = await client.getCertificate(finalized);
      return { cert, key: key.toString() };
    } finally {
      for (const token of tokens) this.#challenges.delete(token);
    }
  }

  async #accountKey(): Promise<string> {
    const path = `${this.#dir}/account.key`;
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const acme = await loadAcme();
    const key = (await acme.crypto.createPrivateEcdsaKey()).toString();
    await writePrivate(path, key);
    return key;
  }

  async #loadStored(): Promise<{ pair: CertificatePair; facts: CertificateFacts } | null> {
    let cert: string;
    let key: string;
    try {
      [cert, key] = await Promise.all([
        Deno.readTextFile(`${this.#dir}/cert.pem`),
        Deno.readTextFile(`${this.#dir}/key.pem`),
      ]);
    } catch {
      return null;
    }
    let facts: CertificateFacts;
    try {
      facts = certificateFacts(cert, key);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      this.#log(`tls: the stored certificate is unusable (${err.message}); ordering a new one`);
      return null;
    }
    const covers = this.#config.acmeDomains.every((name) => certificateCovers(facts.names, name));
    // One about to expire is not worth a start; one past its renewal time is used while the
    // renewal runs.
    const margin = Math.min(60_000, (facts.notAfter - facts.notBefore) / 10);
    if (!covers || facts.notAfter <= this.#now() + margin) return null;
    return { pair: { cert, key }, facts };
  }

  #scheduleRenewal(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    const facts = this.#facts;
    const lifetime = facts ? facts.notAfter - facts.notBefore : 0;
    const renewAt = facts ? renewalTime(facts.notBefore, facts.notAfter) : 0;
    const retryAt = this.#failures > 0 ? this.#now() + retryDelayMs(this.#failures, lifetime) : 0;
    const at = this.#failures > 0 ? retryAt : renewAt;
    // setTimeout holds 32-bit delays; a longer wait is re-planned when it ends.
    const delay = Math.min(Math.max(0, at - this.#now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      if (this.#now() + 5 < at) return this.#scheduleRenewal();
      this.renewNow().catch(() => {/* logged and re-planned by #order */});
    }, delay);
    this.#timer = timer;
    Deno.unrefTimer(timer);
  }
}

async function readCa(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (err) {
    throw new AcmeError(`http.acme_ca: cannot read ${path}: ${String(err)}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new AcmeError(`http.acme_ca: ${path} holds no PEM certificate`);
  }
  return pem;
}

/** Writes `text` to `path` with mode 0600, through a temporary file and a rename. */
async function writePrivate(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, text, { mode: 0o600 });
  await Deno.rename(temp, path);
}
