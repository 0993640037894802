/**
 * initial sync: one account in `rooms` rooms of `members` members each (the account created
 * them with the others invited; the others joined), then the time to a complete initial
 * `/sync` (request sent until the response is parsed) with three filters: timeline limit 1 with
 * lazy-loaded members, timeline limit 20 with lazy-loaded members, and timeline limit 20 with
 * every member's state.
 *
 * The ceiling is the time the same client needs to fetch and parse a JSON document of the same
 * size from the raw `Deno.serve` process: transfer and parsing, no work.
 *
 * @module
 */

import { median } from "../load/load.ts";
import type { BenchAccount, Json } from "../load/matrix_client.ts";
import { registerOne, roomsWithMembers, type ScenarioTarget, withPeakMemory } from "./setup.ts";

/** Sizes of the initial-sync scenario. */
export interface InitialSyncSizes {
  rooms: number;
  /** Members per room, the syncing account included. */
  members: number;
  /** Syncs per filter; the median is reported. */
  repeats: number;
}

/** One filter's measurement. */
export interface InitialSyncFigure {
  /** Short name of the filter. */
  filter: string;
  /** Median milliseconds to a complete initial sync. */
  ms: number;
  /** The first (coldest) sync, ms. */
  firstMs: number;
  /** Size of the response body, bytes. */
  bytes: number;
  /** Joined rooms in the response. */
  rooms: number;
  /** Median ms to fetch and parse as many bytes from the raw server. */
  ceilingMs: number;
}

/** What the initial-sync scenario measured. */
export interface InitialSyncResult {
  figures: InitialSyncFigure[];
  peakBytes: number | null;
  /** Seconds the room setup took. */
  setupSeconds: number;
}

const FILTERS: { name: string; filter: Json }[] = [
  {
    name: "timeline 1, lazy members",
    filter: { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } },
  },
  {
    name: "timeline 20, lazy members",
    filter: { room: { timeline: { limit: 20 }, state: { lazy_load_members: true } } },
  },
  { name: "timeline 20, all members", filter: { room: { timeline: { limit: 20 } } } },
];

async function timedGet(
  url: string,
  token?: string,
): Promise<{ ms: number; body: Json; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  const body = JSON.parse(text);
  const ms = performance.now() - started;
  if (res.status !== 200) {
    throw new Error(`GET ${url.split("?")[0]}: ${res.status} ${text.slice(0, 200)}`);
  }
  return { ms, body, bytes: new TextEncoder().encode(text).length };
}

/** Runs the initial-sync scenario; members come from `pool` (reused across rooms). */
export async function runInitialSync(
  target: ScenarioTarget,
  pool: readonly BenchAccount[],
  sizes: InitialSyncSizes,
): Promise<InitialSyncResult> {
  const others = sizes.members - 1;
  if (pool.length < others) throw new Error("initial sync: pool too small");
  const subject = await registerOne(target, "initialsync");
  // Room r takes a window of the pool that shifts by a prime step, so memberships spread.
  const memberLists = Array.from(
    { length: sizes.rooms },
    (_, r) => Array.from({ length: others }, (_, j) => pool[(r * 37 + j) % pool.length]),
  );
  const setupStarted = performance.now();
  await roomsWithMembers(target, subject, memberLists);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  target.log(
    `initial sync: ${sizes.rooms} rooms of ${sizes.members} members ready in ${
      setupSeconds.toFixed(1)
    } s`,
  );

  const { result: figures, peakBytes } = await withPeakMemory(target, async () => {
    const out: InitialSyncFigure[] = [];
    for (const { name, filter } of FILTERS) {
      const url = `${target.baseUrl}/_matrix/client/v3/sync?filter=${
        encodeURIComponent(JSON.stringify(filter))
      }`;
      const runs: number[] = [];
      let bytes = 0;
      let rooms = 0;
      for (let i = 0; i < sizes.repeats; i++) {
        const got = await timedGet(url, subject.accessToken);
        runs.push(got.ms);
        bytes = got.bytes;
        rooms = Object.keys(got.body.rooms?.join ?? {}).length;
      }
      if (rooms < sizes.rooms) {
        throw new Error(`initial sync (${name}): ${rooms} of ${sizes.rooms} rooms`);
      }
      const ceilingRuns: number[] = [];
      for (let i = 0; i < Math.max(3, sizes.repeats); i++) {
        ceilingRuns.push((await timedGet(`${target.raw.baseUrl}/blob?bytes=${bytes}`)).ms);
      }
      out.push({
        filter: name,
        ms: median(runs),
        firstMs: runs[0],
        bytes,
        rooms,
        ceilingMs: median(ceilingRuns),
      });
    }
    return out;
  });
  return { figures, peakBytes, setupSeconds };
}
