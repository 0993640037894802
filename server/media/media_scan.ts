/**
 * Malware scanning of media before they become visible (`[media.scanner]`): every upload and
 * every remote medium fetched over federation is streamed through ClamAV's daemon
 * (`clamd.ts`). An infected file is refused (403 `M_FORBIDDEN`, with the content scanner's
 * `reason: "MCS_MEDIA_NOT_CLEAN"`) and recorded; when clamd cannot give a verdict, the
 * `fail_mode` decides: `closed` refuses the file (503 `M_UNKNOWN`; 413 `M_TOO_LARGE` for a file
 * above `max_scan_size`, which `/config` then announces as the upload limit), `open` accepts it
 * and records it as unscanned.
 *
 * Keys:
 * - `["media_infected", id]` -> {@link InfectedRecord}: refused files, `id` sorts by time.
 * - `["media_unscanned", origin, mediaId]` -> {@link UnscannedRecord}: media accepted without
 *   a verdict (fail-open), for the admin to review or delete.
 *
 * Encrypted attachments reach the server as ciphertext: clamd scans those bytes like any
 * others, and finds nothing, since encrypted bytes look random.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { MatrixError } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { ClamdError, ClamdStream } from "./clamd.ts";

/** `[media.scanner]`. */
export interface ScannerConfig {
  /** `enabled`: scan uploads and remote media. */
  readonly enabled: boolean;
  /** `clamd`: clamd's Unix socket path or `host:port`. */
  readonly clamd: string;
  /** `fail_mode`: when clamd gives no verdict, refuse (`closed`) or accept (`open`). */
  readonly failMode: "closed" | "open";
  /** `timeout_ms`: for connecting, each write and the answer. */
  readonly timeoutMs: number;
  /** `max_scan_size`: larger files get no verdict (the fail mode decides). */
  readonly maxScanSize: number;
}

/** The outcome of scanning one file. */
export type ScanVerdict =
  | { kind: "clean" }
  | { kind: "infected"; signature: string }
  | { kind: "unscanned"; reason: string; tooLarge?: boolean }
  | { kind: "off" };

/** A file the scanner refused. */
export interface InfectedRecord {
  id: string;
  ts: number;
  /** `upload` (a local user's) or `remote` (fetched from another server). */
  source: "upload" | "remote" | "preview";
  /** The uploader, or null for remote media. */
  userId: string | null;
  /** The `mxc://` the file would have had (a `/create` ID or a remote medium), or null. */
  mxc: string | null;
  signature: string;
  sha256: string | null;
  size: number;
  fileName: string | null;
  contentType: string;
}

/** A medium accepted without a verdict. */
export interface UnscannedRecord {
  ts: number;
  reason: string;
  userId: string | null;
}

/** Where a scanned file came from, for the records. */
export interface ScanContext {
  source: InfectedRecord["source"];
  userId: string | null;
  mxc?: string | null;
  fileName: string | null;
  contentType: string;
}

/** `["media_infected", id]`. */
export function infectedKey(id: string): Deno.KvKey {
  return ["media_infected", id];
}

/** `["media_unscanned", origin, mediaId]`. */
export function unscannedKey(origin: string, mediaId: string): Deno.KvKey {
  return ["media_unscanned", origin, mediaId];
}

/**
 * Scans one file while it streams in: open it with {@link UploadScan.start} before the first
 * byte, {@link UploadScan.write} every chunk (the caller may reuse the buffer afterwards), then
 * {@link UploadScan.verdict}. Connecting to clamd overlaps the first reads.
 */
export class UploadScan {
  readonly #config: ScannerConfig;
  readonly #opening: Promise<ClamdStream | null>;
  #stream: ClamdStream | null = null;
  #problem: string | null = null;
  #tooLarge = false;
  #size = 0;

  private constructor(config: ScannerConfig) {
    this.#config = config;
    this.#opening = config.enabled
      ? ClamdStream.open(config.clamd, { timeoutMs: config.timeoutMs }).catch((err) => {
        this.#problem = describe(err);
        return null;
      })
      : Promise.resolve(null);
  }

  /** Starts a scan (nothing is contacted when scanning is off). */
  static start(config: ScannerConfig): UploadScan {
    return new UploadScan(config);
  }

  /** The file passed `max_scan_size`: it will get no verdict. */
  get tooLarge(): boolean {
    return this.#tooLarge;
  }

  /** Forwards one chunk to clamd; a failure is kept for the verdict, never thrown. */
  async write(bytes: Uint8Array): Promise<void> {
    if (!this.#config.enabled || this.#problem) return;
    this.#size += bytes.length;
    if (this.#size > this.#config.maxScanSize) {
      this.#problem = `larger than max_scan_size (${this.#config.maxScanSize} bytes)`;
      this.#tooLarge = true;
      this.cancel();
      return;
    }
    this.#stream ??= await this.#opening;
    if (!this.#stream) return;
    try {
      await this.#stream.write(bytes);
    } catch (err) {
      this.#problem = describe(err);
      this.cancel();
    }
  }

  /** The verdict once every byte was written. */
  async verdict(): Promise<ScanVerdict> {
    if (!this.#config.enabled) return { kind: "off" };
    this.#stream ??= await this.#opening;
    if (this.#problem || !this.#stream) {
      const reason = this.#problem ?? "clamd unavailable";
      return { kind: "unscanned", reason, tooLarge: this.#tooLarge };
    }
    try {
      const result = await this.#stream.finish();
      return result.clean ? { kind: "clean" } : { kind: "infected", signature: result.signature };
    } catch (err) {
      return { kind: "unscanned", reason: describe(err) };
    }
  }

  /** Drops the connection (the upload failed or was refused). */
  cancel(): void {
    this.#stream?.close();
    this.#opening.then((stream) => stream?.close());
  }
}

/** Scans bytes already in memory. */
export async function scanBytes(config: ScannerConfig, bytes: Uint8Array): Promise<ScanVerdict> {
  const scan = UploadScan.start(config);
  for (let at = 0; at < bytes.length; at += 65536) {
    await scan.write(bytes.subarray(at, at + 65536));
  }
  return await scan.verdict();
}

function describe(err: unknown): string {
  if (err instanceof ClamdError) return err.message;
  return `scanner failed: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Applies a verdict: an infected file is recorded and refused; an unscanned one is refused
 * under `fail_mode = "closed"`. Returns the reason to record after the medium is stored when it
 * is accepted without a verdict, else null.
 *
 * @throws {MatrixError} 403 M_FORBIDDEN (infected), 503 M_UNKNOWN (no verdict, fail-closed)
 */
export async function enforceVerdict(
  hs: Homeserver,
  verdict: ScanVerdict,
  file: ScanContext & { sha256: string | null; size: number },
): Promise<string | null> {
  if (verdict.kind === "off" || verdict.kind === "clean") return null;
  if (verdict.kind === "infected") {
    const ts = Date.now();
    const id = `${String(ts).padStart(15, "0")}-${randomString(8)}`;
    const record: InfectedRecord = {
      id,
      ts,
      source: file.source,
      userId: file.userId,
      mxc: file.mxc ?? null,
      signature: verdict.signature,
      sha256: file.sha256,
      size: file.size,
      fileName: file.fileName?.slice(0, 255) ?? null,
      contentType: file.contentType.slice(0, 255),
    };
    await hs.kv.set(infectedKey(id), record);
    hs.log.warn("media refused: malware found", {
      signature: verdict.signature,
      source: file.source,
      user: file.userId ?? undefined,
      mxc: file.mxc ?? undefined,
      sha256: file.sha256 ?? undefined,
      size: file.size,
    });
    throw new MatrixError(
      "M_FORBIDDEN",
      `The file was refused: the malware scanner found ${verdict.signature}`,
      { status: 403, extra: { reason: "MCS_MEDIA_NOT_CLEAN" } },
    );
  }
  if (hs.config.media.scanner.failMode === "closed") {
    if (verdict.tooLarge) throw tooLargeToScan(hs.config.media.scanner.maxScanSize);
    hs.log.warn("media refused: not scanned (fail_mode closed)", {
      reason: verdict.reason,
      source: file.source,
      user: file.userId ?? undefined,
    });
    throw new MatrixError(
      "M_UNKNOWN",
      "The malware scanner is unavailable, so files cannot be accepted now; try again later",
      { status: 503, headers: { "Retry-After": "30" }, extra: { retry_after_ms: 30_000 } },
    );
  }
  hs.log.warn("media accepted without a scan (fail_mode open)", {
    reason: verdict.reason,
    source: file.source,
    user: file.userId ?? undefined,
  });
  return verdict.reason;
}

/**
 * The largest upload this server accepts: `max_upload_size`, or `max_scan_size` when it is smaller
 * and unscanned files are refused (`/config`'s `m.upload.size`).
 */
export function uploadLimit(media: { maxUploadSize: number; scanner: ScannerConfig }): number {
  const { scanner } = media;
  return scanner.enabled && scanner.failMode === "closed"
    ? Math.min(media.maxUploadSize, scanner.maxScanSize)
    : media.maxUploadSize;
}

/** 413 M_TOO_LARGE: a file the scanner cannot take, under `fail_mode = "closed"`. */
export function tooLargeToScan(maxScanSize: number): MatrixError {
  return new MatrixError(
    "M_TOO_LARGE",
    `Files larger than ${maxScanSize} bytes cannot be scanned for malware, so this server refuses them`,
    { status: 413 },
  );
}

/** Records a medium accepted without a verdict. */
export async function recordUnscanned(
  hs: Homeserver,
  medium: { origin: string; mediaId: string },
  options: { reason: string; userId: string | null },
): Promise<void> {
  const record: UnscannedRecord = {
    ts: Date.now(),
    reason: options.reason.slice(0, 500),
    userId: options.userId,
  };
  await hs.kv.set(unscannedKey(medium.origin, medium.mediaId), record);
}
