/**
 * send: `clients` accounts send `m.room.message` events into `rooms` rooms at once (client i
 * into room i mod rooms), each sending its next event as soon as the previous one was
 * acknowledged. Measures events per second and the latency of `PUT /send`; the raw
 * `Deno.serve` ceiling is driven by the same closed loop at the same concurrency.
 *
 * @module
 */

import { closedLoop, type ClosedLoopResult } from "../load/load.ts";
import { type BenchAccount, call, sendMessage } from "../load/matrix_client.ts";
import { roomsWithMembers, type ScenarioTarget, withPeakMemory } from "./setup.ts";

/** Sizes of the send scenario. */
export interface SendSizes {
  clients: number;
  rooms: number;
  warmupMs: number;
  durationMs: number;
}

/** What the send scenario measured. */
export interface SendResult {
  gemeng: ClosedLoopResult;
  raw: ClosedLoopResult;
  peakBytes: number | null;
}

/** Runs the send scenario with the first `sizes.clients` accounts of `pool`. */
export async function runSend(
  target: ScenarioTarget,
  pool: readonly BenchAccount[],
  sizes: SendSizes,
): Promise<SendResult> {
  const clients = pool.slice(0, sizes.clients);
  if (clients.length < sizes.clients) throw new Error("send: pool too small");
  const owner = clients[0];
  const memberLists = Array.from(
    { length: sizes.rooms },
    (_, r) => clients.filter((c, i) => i % sizes.rooms === r && c !== owner),
  );
  const rooms = await roomsWithMembers(target, owner, memberLists);
  target.log(`send: ${sizes.clients} clients in ${sizes.rooms} rooms ready`);

  const { result: gemeng, peakBytes } = await withPeakMemory(target, () =>
    closedLoop({
      concurrency: clients.length,
      warmupMs: sizes.warmupMs,
      durationMs: sizes.durationMs,
      request: async (client, seq) => {
        await sendMessage(
          target.baseUrl,
          clients[client].accessToken,
          rooms[client % sizes.rooms],
          `message ${seq} from client ${client}`,
        );
      },
    }));
  if (gemeng.completed === 0) throw new Error(`send: nothing sent (${gemeng.firstError})`);

  const raw = await closedLoop({
    concurrency: clients.length,
    warmupMs: sizes.warmupMs,
    durationMs: sizes.durationMs,
    request: async (client, seq) => {
      await call(target.raw.baseUrl, "PUT", `/json?txn=${client}-${seq}`, {
        token: clients[client].accessToken,
        body: { msgtype: "m.text", body: `message ${seq} from client ${client}` },
      });
    },
  });
  return { gemeng, raw, peakBytes };
}
