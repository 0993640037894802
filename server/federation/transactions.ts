/**
 * `PUT /_matrix/federation/v1/send/{txnId}` (server-server API "Transactions"): at most 50
 * PDUs and 100 EDUs from the authenticated origin. Each PDU is checked and admitted on its
 * own (`incoming.ts`) and gets its entry in the answer's `pdus` map (`{}` or `{error}`). A
 * transaction ID already answered for this origin gets the same answer again without being
 * processed twice. EDUs go to the handlers features register with `hs.edus` (`edu_queue.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { computeEventId } from "../../federation/event_id.ts";
import { roomVersion } from "../../federation/room_versions.ts";
import type { PduJson } from "../../federation/types.ts";
import { badJson, jsonResponse } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { IncomingPdus, PduError } from "./incoming.ts";
import { authenticatedOrigin, requiredContent } from "./inbound_auth.ts";

/** The spec's bounds of one transaction. */
export const MAX_TXN_PDUS = 50;
export const MAX_TXN_EDUS = 100;
/** How long a transaction's answer is kept for retries of the same transaction ID. */
const TXN_ANSWER_TTL_MS = 24 * 3600_000;

/** `["fed_txn", origin, txnId]` -> the answer given to that transaction. */
export function inboundTxnKey(origin: string, txnId: string): Deno.KvKey {
  return ["fed_txn", origin, txnId];
}

/** The event ID a PDU claims (for the answer map), or null when it cannot be worked out. */
async function claimedEventId(hs: Homeserver, pdu: unknown): Promise<string | null> {
  if (typeof pdu !== "object" || pdu === null || Array.isArray(pdu)) return null;
  const json = pdu as PduJson;
  if (typeof json.event_id === "string") return json.event_id;
  const room = typeof json.room_id === "string" ? await hs.rooms.room(json.room_id) : null;
  const rules = room ? roomVersion(room.roomVersion) : undefined;
  if (!rules) return null;
  try {
    return computeEventId(json, rules);
  } catch {
    return null;
  }
}

/** Routes of the transaction endpoint. */
export function transactionRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const incoming = new IncomingPdus(hs);
  // One transaction of an origin at a time (the spec has senders wait for the answer).
  const running = new Map<string, Promise<unknown>>();

  app.put("/_matrix/federation/v1/send/:txnId", async (c) => {
    const origin = authenticatedOrigin(c);
    const txnId = c.req.param("txnId");
    const body = requiredContent(c);
    const pdus = body.pdus ?? [];
    const edus = body.edus ?? [];
    if (!Array.isArray(pdus) || !Array.isArray(edus)) {
      throw badJson("'pdus' and 'edus' must be lists");
    }
    if (pdus.length > MAX_TXN_PDUS || edus.length > MAX_TXN_EDUS) {
      throw badJson(`A transaction holds at most ${MAX_TXN_PDUS} PDUs and ${MAX_TXN_EDUS} EDUs`);
    }
    if (body.origin !== undefined && body.origin !== origin) {
      throw badJson("The transaction's 'origin' is not the server that signed the request");
    }
    const key = inboundTxnKey(origin, txnId);
    const previous = running.get(origin) ?? Promise.resolve();
    const run = previous.then(async () => {
      const seen = await hs.kv.get<Record<string, unknown>>(key);
      if (seen.value) return seen.value;
      const results: Record<string, Record<string, string>> = {};
      const fail = (eventId: string | null, err: unknown) => {
        if (eventId === null) return;
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof PduError)) console.error(`PDU ${eventId} from ${origin}:`, err);
        results[eventId] = { error: message.slice(0, 500) };
      };
      // The receipt checks of every PDU at once (signatures are the costly part) ...
      const checked = await Promise.all(pdus.map(async (pdu) => {
        try {
          return { pdu, result: await incoming.check(origin, pdu) };
        } catch (err) {
          fail(await claimedEventId(hs, pdu), err);
          return null;
        }
      }));
      // ... then each room's events admitted in the transaction's order: the admissions are
      // started one after the other (the room's lock keeps that order) and awaited together,
      // so a message's commit overlaps the next one's checks.
      const admissions: Promise<void>[] = [];
      for (const entry of checked) {
        if (!entry) continue;
        const { pdu, result } = entry;
        if ("outcome" in result) {
          results[result.stored.event.eventId] = {};
          continue;
        }
        admissions.push(
          incoming.admit(origin, result.event, result).then((admitted) => {
            results[admitted.stored.event.eventId] = admitted.outcome === "rejected"
              ? { error: `Rejected: ${admitted.stored.meta.rejected}` }
              : {};
          }, async (err) => fail(await claimedEventId(hs, pdu), err)),
        );
      }
      await Promise.all(admissions);
      // EDUs after the PDUs (a receipt may name an event of the same transaction).
      await hs.edus.dispatch(origin, edus);
      const answer = { pdus: results };
      await hs.kv.set(key, answer, { expireIn: TXN_ANSWER_TTL_MS });
      return answer;
    });
    const tail = run.catch(() => {});
    running.set(origin, tail);
    try {
      return jsonResponse(await run);
    } finally {
      if (running.get(origin) === tail) running.delete(origin);
    }
  });

  return app;
}
