/**
 * A worker that writes one backup (`backup.ts`), so that the server's scheduled backups run
 * off its event loop: SQLite's `VACUUM INTO` is a synchronous call that takes as long as the
 * database is large.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { type BackupSource, createBackup } from "./backup.ts";

/** The job the server posts. */
export interface BackupJob {
  source: BackupSource;
  file: string;
}

self.onmessage = async (event: MessageEvent<BackupJob>) => {
  try {
    const result = await createBackup(event.data.source, event.data.file);
    self.postMessage({ ok: true, bytes: result.bytes, createdTs: result.header.createdTs });
  } catch (err) {
    self.postMessage({ ok: false, message: (err as Error).message ?? String(err) });
  }
};
