/**
 * Scheduled backups (`[backup] schedule`, `dir`, `keep`): at each due time the server writes
 * `gemeng-<UTC time>.backup` into `dir` (in a worker, `backup_worker.ts`), then deletes the
 * oldest of its scheduled backups beyond `keep`. Failures are logged and counted in the
 * metrics; the next run comes at the next due time.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { BackupSchedule } from "./ops_config.ts";
import type { BackupJob } from "./backup_worker.ts";

/** Names of scheduled backups (the time sorts them). */
const SCHEDULED_NAME = /^gemeng-\d{8}T\d{6}(?:\d{3})?Z\.backup$/;
const DAY_MS = 86_400_000;

/** The next time at or after `now` + 1 ms that the schedule is due. */
export function nextBackupTime(schedule: BackupSchedule, now: number): number {
  if (schedule.kind === "every") {
    // Aligned to the epoch, so a restart does not shift the times.
    return (Math.floor(now / schedule.intervalMs) + 1) * schedule.intervalMs;
  }
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  const today = dayStart + schedule.minuteOfDay * 60_000;
  return today > now ? today : today + DAY_MS;
}

/** The file name of a backup taken at `ts`. */
export function scheduledBackupName(ts: number): string {
  const iso = new Date(ts).toISOString(); // 2026-12-06T23:15:00.123Z
  return `gemeng-${iso.replace(/[-:]/g, "").replace(".", "")}.backup`;
}

/**
 * Deletes the oldest scheduled backups in `dir` beyond `keep` (only files named as this module
 * names them).
 *
 * @returns the names deleted
 */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && SCHEDULED_NAME.test(entry.name)) names.push(entry.name);
  }
  names.sort();
  const doomed = names.slice(0, Math.max(0, names.length - keep));
  for (const name of doomed) await Deno.remove(`${dir}/${name}`);
  return doomed;
}

/** Writes one backup in a worker. */
export function backupInWorker(job: BackupJob): Promise<{ bytes: number; createdTs: number }> {
  const worker = new Worker(new URL("./backup_worker.ts", import.meta.url), { type: "module" });
  return new Promise<{ bytes: number; createdTs: number }>((resolve, reject) => {
    worker.onmessage = (event) => {
      const data = event.data as { ok: boolean; bytes: number; createdTs: number; message: string };
      if (data.ok) resolve({ bytes: data.bytes, createdTs: data.createdTs });
      else reject(new Error(data.message));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
    worker.postMessage(job);
  }).finally(() => worker.terminate());
}

/** A running schedule. */
export interface BackupScheduler {
  /** Stops the timer and waits for a backup in progress. */
  stop(): Promise<void>;
  /** Runs one scheduled backup now (tests; the timer keeps its own times). */
  runNow(): Promise<void>;
}

/** Starts `[backup] schedule` for a server; null when no schedule is set. */
export function startBackupSchedule(hs: Homeserver): BackupScheduler | null {
  const { schedule, dir, keep } = hs.config.backup;
  if (!schedule) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let stopped = false;
  const runOnce = async () => {
    const started = Date.now();
    const file = `${dir.replace(/\/+$/, "")}/${scheduledBackupName(started)}`;
    try {
      await Deno.mkdir(dir, { recursive: true });
      const result = await backupInWorker({
        source: {
          dataDir: hs.config.dataDir,
          serverName: hs.config.serverName,
          dataFormat: hs.dataFormat,
          exclude: [dir],
        },
        file,
      });
      hs.backupStats.lastSuccessTs = result.createdTs;
      hs.backupStats.lastBytes = result.bytes;
      const pruned = await pruneBackups(dir, keep);
      hs.log.info("scheduled backup written", {
        file,
        bytes: result.bytes,
        ms: Date.now() - started,
        deleted: pruned.length,
      });
    } catch (err) {
      hs.backupStats.failures++;
      hs.log.error("scheduled backup failed", { file, error: (err as Error).message });
    }
  };
  const arm = () => {
    if (stopped) return;
    const due = nextBackupTime(schedule, Date.now());
    // setTimeout holds at most ~24.8 days; longer waits re-arm.
    timer = setTimeout(() => {
      if (Date.now() < due - 1000) return arm();
      running = runOnce().finally(() => {
        running = null;
        arm();
      });
    }, Math.min(Math.max(0, due - Date.now()), 2 ** 31 - 1));
  };
  arm();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (running) await running;
    },
    async runNow() {
      while (running) await running;
      running = runOnce().finally(() => running = null);
      await running;
    },
  };
}
