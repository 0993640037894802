/**
 * `tls = "files"`: the certificate and key from `tls_cert` and `tls_key`, read again when they
 * change on disk. The files are polled (their contents compared) rather than watched: certbot
 * and similar tools swap symbolic links to new files, which file watches on the old paths miss.
 * A changed pair is taken into use only when the key belongs to the certificate; until then the
 * old one stays (a renewal tool writes the two files one after the other).
 *
 * @module
 */

import { ConfigError } from "../config.ts";
import {
  CertificateError,
  type CertificateFacts,
  certificateFacts,
  type CertificateListener,
  type CertificateSource,
} from "./certificates.ts";
import type { CertificatePair } from "./tls_server.ts";

/** How often the files are compared with the pair in use, by default. */
export const DEFAULT_POLL_MS = 30_000;

/** Options of {@link FileCertificates}. */
export interface FileCertificatesOptions {
  /** Milliseconds between two reads of the files (default {@link DEFAULT_POLL_MS}). */
  pollMs?: number;
  /** Where reload messages go (default `console.error`). */
  log?: (line: string) => void;
}

/** Certificates from files, reloaded when the files change. */
export class FileCertificates implements CertificateSource {
  readonly #certPath: string;
  readonly #keyPath: string;
  readonly #pollMs: number;
  readonly #log: (line: string) => void;
  readonly #listeners: CertificateListener[] = [];
  #pair: CertificatePair | null = null;
  #facts: CertificateFacts | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;
  #lastProblem = "";

  /**
   * @param certPath PEM chain (`tls_cert`)
   * @param options `keyPath` (`tls_key`) and polling
   */
  constructor(certPath: string, options: FileCertificatesOptions & { keyPath: string }) {
    this.#certPath = certPath;
    this.#keyPath = options.keyPath;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#log = options.log ?? ((line) => console.error(line));
  }

  /** @throws {ConfigError} when the files cannot be read or do not belong together */
  async start(): Promise<void> {
    try {
      const read = await this.#read();
      this.#pair = read.pair;
      this.#facts = read.facts;
    } catch (err) {
      throw new ConfigError("http.tls_cert", String((err as Error).message ?? err));
    }
    this.#schedule();
  }

  current(): CertificatePair | null {
    return this.#pair;
  }

  /** What the certificate in use says (null before {@link start}). */
  facts(): CertificateFacts | null {
    return this.#facts;
  }

  onChange(listener: CertificateListener): void {
    this.#listeners.push(listener);
  }

  /** Reads the files now and takes a changed, valid pair into use; true when it did. */
  async reload(): Promise<boolean> {
    let read;
    try {
      read = await this.#read();
    } catch (err) {
      const problem = String((err as Error).message ?? err);
      // Said once per problem, not every poll.
      if (problem !== this.#lastProblem) {
        this.#log(`tls: keeping the certificate in use: ${problem}`);
      }
      this.#lastProblem = problem;
      return false;
    }
    this.#lastProblem = "";
    const old = this.#pair;
    if (old && old.cert === read.pair.cert && old.key === read.pair.key) return false;
    for (const listener of this.#listeners) {
      try {
        await listener(read.pair);
      } catch (err) {
        this.#log(`tls: the new certificate from ${this.#certPath} was refused: ${String(err)}`);
        return false;
      }
    }
    this.#pair = read.pair;
    this.#facts = read.facts;
    this.#log(
      `tls: certificate reloaded from ${this.#certPath} (${read.facts.names.join(", ")}; ` +
        `valid until ${new Date(read.facts.notAfter).toISOString()})`,
    );
    return true;
  }

  close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return Promise.resolve();
  }

  async #read(): Promise<{ pair: CertificatePair; facts: CertificateFacts }> {
    let cert: string;
    let key: string;
    try {
      [cert, key] = await Promise.all([
        Deno.readTextFile(this.#certPath),
        Deno.readTextFile(this.#keyPath),
      ]);
    } catch (err) {
      throw new CertificateError(`cannot read the certificate or key: ${String(err)}`);
    }
    const facts = certificateFacts(cert, key);
    return { pair: { cert, key }, facts };
  }

  #schedule(): void {
    const timer = setTimeout(async () => {
      if (this.#polling) return;
      this.#polling = true;
      try {
        await this.reload();
      } finally {
        this.#polling = false;
        if (this.#timer !== undefined) this.#schedule();
      }
    }, this.#pollMs);
    this.#timer = timer;
    Deno.unrefTimer(timer);
  }
}
