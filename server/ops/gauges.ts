/**
 * The gauges a server's `/metrics` reads when scraped: sync waiters, federation queues, memory,
 * the data format and start time, and the scheduled backups' outcome.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { Metrics } from "./metrics.ts";

/** Queue entries counted per scrape at most (a huge backlog reads as this). */
const QUEUE_COUNT_CAP = 100_000;
/** Queue sizes are counted at most this often (a scrape every few seconds costs no scan). */
const QUEUE_CACHE_MS = 10_000;

/** Counts the PDUs and EDUs waiting per destination (capped), from KV. */
async function countQueues(kv: Deno.Kv): Promise<{ pdus: number; edus: number; dests: number }> {
  const destinations = new Set<string>();
  const count = async (prefix: string) => {
    let n = 0;
    for await (const entry of kv.list({ prefix: [prefix] }, { limit: QUEUE_COUNT_CAP })) {
      destinations.add(String(entry.key[1]));
      n++;
    }
    return n;
  };
  const pdus = await count("fed_outbox");
  const edus = await count("fed_edu");
  return { pdus, edus, dests: destinations.size };
}

/** The outcome of scheduled backups, for the metrics. */
export interface BackupStats {
  /** When the last scheduled backup succeeded (ms since the epoch), 0 for never. */
  lastSuccessTs: number;
  /** Scheduled backups that failed since start. */
  failures: number;
  /** Size of the last successful one. */
  lastBytes: number;
}

/** Registers the server's gauges with its metrics. */
export function addServerGauges(hs: Homeserver, metrics: Metrics): void {
  const startedTs = Date.now();
  let queues: { at: number; value: Promise<{ pdus: number; edus: number; dests: number }> } | null =
    null;
  const readQueues = () => {
    if (!queues || Date.now() - queues.at > QUEUE_CACHE_MS) {
      queues = { at: Date.now(), value: countQueues(hs.kv) };
    }
    return queues.value;
  };
  metrics.addGauge({
    name: "gemeng_sync_waiters",
    help: "Long-polling /sync requests waiting for news.",
    read: () => hs.notifier.waiterCount,
  });
  metrics.addGauge({
    name: "gemeng_federation_queued_pdus",
    help: "PDUs waiting to be sent to other servers (counted up to 100000).",
    read: async () => (await readQueues()).pdus,
  });
  metrics.addGauge({
    name: "gemeng_federation_queued_edus",
    help: "EDUs waiting to be sent to other servers (counted up to 100000).",
    read: async () => (await readQueues()).edus,
  });
  metrics.addGauge({
    name: "gemeng_federation_destinations_queued",
    help: "Other servers with something waiting for them.",
    read: async () => (await readQueues()).dests,
  });
  metrics.addGauge({
    name: "gemeng_memory_bytes",
    help: "Process memory: rss, heap_total, heap_used, external.",
    labelName: "kind",
    read: () => {
      const m = Deno.memoryUsage();
      const kinds = { rss: m.rss, heap_total: m.heapTotal, heap_used: m.heapUsed };
      return new Map(Object.entries({ ...kinds, external: m.external }));
    },
  });
  metrics.addGauge({
    name: "gemeng_start_time_seconds",
    help: "When this server process started (Unix time).",
    read: () => startedTs / 1000,
  });
  metrics.addGauge({
    name: "gemeng_data_format_version",
    help: "The data format of the database (server/store/data_format.ts).",
    read: () => hs.dataFormat,
  });
  metrics.addGauge({
    name: "gemeng_backup_last_success_time_seconds",
    help: "When the last scheduled backup succeeded (Unix time; 0 for none since start).",
    read: () => hs.backupStats.lastSuccessTs / 1000,
  });
  metrics.addGauge({
    name: "gemeng_backup_failures",
    help: "Scheduled backups that failed since start.",
    read: () => hs.backupStats.failures,
  });
}
