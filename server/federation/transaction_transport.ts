/**
 * What the federation sender (`sender.ts`) needs from the outside world, and the production
 * versions of it: the transaction transport contract with {@link federationClientTransport}
 * over the signed federation client (`client.ts`), and {@link pduLoader}, which reads a queued
 * event's PDU from the room store as it goes over federation.
 *
 * @module
 */

import type { JsonObject } from "../../federation/types.ts";
import { redactPdu } from "../../federation/redaction.ts";
import type { RoomStore } from "../rooms/room_store.ts";

/** The body of `PUT /_matrix/federation/v1/send/{txnId}`. */
export interface TransactionBody {
  origin: string;
  origin_server_ts: number;
  pdus: JsonObject[];
  edus?: JsonObject[];
}

/**
 * A destination's answer. `ok` only for a 200 (with the spec's `pdus` map as `pduResults`).
 * `retryable`: network errors, timeouts, 5xx, 429, and 401 (keys not fetched yet) should be
 * retryable; a refusal that will not change (400, 403, 404) not: its PDUs are dropped.
 */
export type TransactionResult =
  | { ok: true; pduResults?: Record<string, { error?: string }> }
  | { ok: false; retryable: boolean; error: string };

/** Sends one transaction (signed, over TLS, after server discovery: `client.ts`). */
export interface TransactionTransport {
  sendTransaction(
    destination: string,
    txnId: string,
    body: TransactionBody,
    options: { signal: AbortSignal },
  ): Promise<TransactionResult>;
}

/** The federation form of a stored event, or null when it must not be sent. */
export type PduLoader = (eventId: string) => Promise<JsonObject | null>;

/**
 * The default {@link PduLoader}: a stored event's PDU as sent over federation. Events that
 * are unknown, rejected, soft-failed or outliers are not sent; a redacted event goes out redacted (the
 * receiver's hash check then redacts it too), and `unsigned` (local data) is left out.
 */
export function pduLoader(rooms: RoomStore): PduLoader {
  return async (eventId) => {
    const stored = await rooms.event(eventId);
    if (!stored) return null;
    const { meta } = stored;
    if (meta.rejected !== null || meta.outlier || meta.softFailed) return null;
    const pdu = meta.redactedBy !== null
      ? redactPdu(stored.event.pdu, stored.rules)
      : { ...stored.event.pdu };
    delete pdu.unsigned;
    return pdu;
  };
}

/** What {@link federationClientTransport} needs of the federation client (`client.ts`). */
export interface TransactionRequester {
  request(
    destination: string,
    request: { method: "PUT"; path: string; body: Record<string, unknown>; timeoutMs?: number },
  ): Promise<{ status: number; json: unknown }>;
}

/** Client refusals that no retry changes: the transaction's PDUs are dropped. */
const PERMANENT_CODES = new Set(["SELF", "NOT_ALLOWED", "PRIVATE_ADDRESS"]);

/**
 * The {@link TransactionTransport} over the signed federation client: 200 is success (with
 * the spec's per-PDU results), 401, 408, 429 and 5xx are worth a retry, other answers are a
 * refusal of the whole transaction; a request that got no answer is retried unless the
 * client refused it by configuration (`SELF`, `NOT_ALLOWED`, `PRIVATE_ADDRESS`).
 */
export function federationClientTransport(
  client: TransactionRequester,
  options: { timeoutMs?: number } = {},
): TransactionTransport {
  return {
    async sendTransaction(destination, txnId, body) {
      let response;
      try {
        response = await client.request(destination, {
          method: "PUT",
          path: `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`,
          body: { ...body },
          timeoutMs: options.timeoutMs,
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const retryable = !(typeof code === "string" && PERMANENT_CODES.has(code));
        return { ok: false, retryable, error: String((err as Error).message ?? err) };
      }
      const { status, json } = response;
      const answer = typeof json === "object" && json !== null && !Array.isArray(json)
        ? json as Record<string, unknown>
        : {};
      if (status === 200) {
        const pdus = answer.pdus;
        const pduResults = typeof pdus === "object" && pdus !== null && !Array.isArray(pdus)
          ? pdus as Record<string, { error?: string }>
          : undefined;
        return { ok: true, pduResults };
      }
      const errcode = typeof answer.errcode === "string" ? ` ${answer.errcode.slice(0, 64)}` : "";
      const retryable = status >= 500 || status === 401 || status === 408 || status === 429;
      return { ok: false, retryable, error: `HTTP ${status}${errcode}` };
    },
  };
}
