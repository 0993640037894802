/**
 * Sync and pagination tokens. A sync token `s<pos>_<typing>[_<toDevice>]` carries the global
 * stream position its response covers, the typing serial, and, when a device's to-device
 * queue was truncated, the to-device position reached. A pagination token (`prev_batch`,
 * `/messages`' `start`/`end`) uses the same form: its position `p` stands between the events
 * at positions `<= p` and `> p`, so a sync token is also a valid `/messages` `from`.
 *
 * Backfilled events sit at negative positions, so a pagination token can hold one (`s-<n>`,
 * read by {@link parsePaginationToken}); a sync token never does.
 *
 * `server/e2ee/sync_fields.ts`' `streamPositionOf` reads the leading position of the same form.
 *
 * @module
 */

import { invalidParam } from "../errors.ts";

/** A parsed sync token. */
export interface SyncToken {
  /** Stream position covered. */
  pos: number;
  /** Typing serial covered (0 when absent). */
  typing: number;
  /** To-device position reached when it lags `pos`. */
  toDevice?: number;
}

/** Formats a sync token. */
export function formatSyncToken(token: SyncToken): string {
  const base = `s${token.pos}_${token.typing}`;
  return token.toDevice !== undefined && token.toDevice < token.pos
    ? `${base}_${token.toDevice}`
    : base;
}

/**
 * Parses a sync or pagination token.
 *
 * @throws {MatrixError} M_INVALID_PARAM for anything else
 */
export function parseSyncToken(text: string, name = "since"): SyncToken {
  const match = /^s(\d{1,15})(?:_(\d{1,16}))?(?:_(\d{1,15}))?$/.exec(text);
  if (!match) throw invalidParam(`'${name}' is not a token this server issued`);
  const token: SyncToken = { pos: Number(match[1]), typing: Number(match[2] ?? 0) };
  if (match[3] !== undefined) token.toDevice = Number(match[3]);
  return token;
}

/**
 * Parses a pagination token (`/messages`' `from` and `to`): a sync token or a position token,
 * negative positions included.
 *
 * @returns the position
 * @throws {MatrixError} M_INVALID_PARAM for anything else
 */
export function parsePaginationToken(text: string, name: string): number {
  const match = /^s-(\d{1,15})$/.exec(text);
  if (match) return -Number(match[1]);
  return parseSyncToken(text, name).pos;
}

/** A pagination token for a position (negative below the first stream position). */
export function positionToken(pos: number): string {
  return `s${pos}`;
}
