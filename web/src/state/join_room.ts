/**
 * Joining a room by its address (spec: Client-Server API, "Joining rooms"): a room alias
 * (`#town-hall:example.org`), a room ID (`!abc:example.org`, or `!abc` from room version 12 on)
 * with servers to join through, or a link to either (`https://matrix.to/#/...`, `matrix:r/...`).
 * The room may live on another server: the user's server resolves the alias and joins over
 * federation, so the failures worth explaining are an unknown address, a refusal and a server
 * that cannot be reached.
 *
 * @module
 */

import { signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type { MessageKey } from "../i18n/index.ts";
import { isServerName, serverNameOf } from "../matrix/identifiers.ts";
import { type ActionProblem, problemOf, Task } from "./room_task.ts";

/** What the user asked to join. */
export interface JoinTarget {
  /** `alias` for `#room:server`, `roomId` for `!id` / `!id:server`. */
  kind: "alias" | "roomId";
  /** The alias or room ID, as sent to the server. */
  id: string;
  /** Servers to join through (given by the user or the link), without duplicates. */
  via: string[];
}

/** A parsed address, or the catalogue key of why it is not one. */
export type ParsedJoinTarget = { ok: true; target: JoinTarget } | { ok: false; key: MessageKey };

/** Identifiers are at most 255 bytes (spec: "Identifier Grammar"). */
const MAX_ID_BYTES = 255;
/** The client sends at most this many `via` servers (the SDK sends only the first three). */
const MAX_VIA = 3;

/** The servers of a comma- or space-separated list, or null if one of them is not a name. */
export function parseServerList(text: string): string[] | null {
  const names = text.split(/[\s,]+/).filter((name) => name !== "");
  return names.every(isServerName) ? [...new Set(names)] : null;
}

/** An address inside a link (`matrix.to` or a `matrix:` URI), with the link's `via` servers. */
function unwrapLink(text: string): { id: string; via: string[] } | null {
  const matrixTo = /^https?:\/\/matrix\.to\/#\/([^?]+)(?:\?(.*))?$/i.exec(text);
  if (matrixTo) {
    let id: string;
    try {
      id = decodeURIComponent(matrixTo[1].split("/")[0]);
    } catch {
      return null;
    }
    return { id, via: new URLSearchParams(matrixTo[2] ?? "").getAll("via") };
  }
  const uri = /^matrix:(r|roomid)\/([^?/]+)(?:\/[^?]*)?(?:\?(.*))?$/i.exec(text);
  if (uri) {
    let rest: string;
    try {
      rest = decodeURIComponent(uri[2]);
    } catch {
      return null;
    }
    const sigil = uri[1].toLowerCase() === "r" ? "#" : "!";
    return { id: sigil + rest, via: new URLSearchParams(uri[3] ?? "").getAll("via") };
  }
  return null;
}

/**
 * Reads what the user typed: `address` (an alias, a room ID or a link to one) and
 * `viaText` (servers to join through, separated by commas or spaces; may be empty).
 */
export function parseJoinTarget(address: string, viaText = ""): ParsedJoinTarget {
  const text = address.trim();
  if (text === "") return { ok: false, key: "rooms.join.missing" };
  const link = unwrapLink(text);
  const id = link?.id.trim() ?? text;
  const typedVia = parseServerList(viaText);
  if (typedVia === null) return { ok: false, key: "rooms.join.badServer" };
  const linkVia = (link?.via ?? []).filter(isServerName);
  const via = [...new Set([...typedVia, ...linkVia])].slice(0, MAX_VIA);
  if (new TextEncoder().encode(id).length > MAX_ID_BYTES || /\s/.test(id)) {
    return { ok: false, key: "rooms.join.invalid" };
  }
  if (id.startsWith("#")) {
    const colon = id.indexOf(":");
    if (colon < 2 || serverNameOf(id) === null) return { ok: false, key: "rooms.join.invalid" };
    return { ok: true, target: { kind: "alias", id, via } };
  }
  if (id.startsWith("!")) {
    const colon = id.indexOf(":");
    // Room IDs from version 12 on have no server part; older ones must name a valid server.
    if (id.length < 2 || colon === 1 || (colon > 0 && serverNameOf(id) === null)) {
      return { ok: false, key: "rooms.join.invalid" };
    }
    return { ok: true, target: { kind: "roomId", id, via } };
  }
  return { ok: false, key: "rooms.join.notAnAddress" };
}

/** The servers to join an invited room through: the inviter's, unless it is ours. */
export function inviteVia(inviter: string | null, ownUserId: string | null): string[] {
  const theirs = inviter ? serverNameOf(inviter) : null;
  const ours = ownUserId ? serverNameOf(ownUserId) : null;
  return theirs && theirs !== ours ? [theirs] : [];
}

/** The server's own words of an SDK error, else the error's message. */
function detailOf(err: unknown): string {
  const words = (err as { data?: { error?: unknown } })?.data?.error;
  if (typeof words === "string" && words.trim()) return words.trim();
  return err instanceof Error ? err.message : String(err);
}

/** How a failed join is explained: the catalogue key for the error, and the server's words. */
export function joinProblemOf(err: unknown, target: JoinTarget): ActionProblem {
  const code = (err as { errcode?: unknown })?.errcode;
  const status = (err as { httpStatus?: unknown })?.httpStatus;
  const name = (err as { name?: unknown })?.name;
  const message = detailOf(err);
  if (name === "ConnectionError" || (err instanceof TypeError && code === undefined)) {
    return { key: "rooms.join.offline", message };
  }
  switch (code) {
    case "M_NOT_FOUND":
      return {
        key: target.kind === "alias"
          ? "rooms.join.unknownAlias"
          : target.via.length > 0
          ? "rooms.join.unknownRoom"
          : "rooms.join.unknownRoomNoVia",
        message,
      };
    case "M_FORBIDDEN":
      return { key: "rooms.join.refused", message };
    case "M_INVALID_PARAM":
    case "M_BAD_JSON":
      return { key: "rooms.join.invalid", message };
    case "M_UNSUPPORTED_ROOM_VERSION":
    case "M_INCOMPATIBLE_ROOM_VERSION":
      return { key: "rooms.join.unsupported", message };
  }
  if (status === 502 || status === 503 || status === 504) {
    return { key: "rooms.join.unreachable", message };
  }
  return problemOf(err);
}

/** What a join form needs of the room actions (kept narrow so it can be tested alone). */
export interface JoinHost {
  /** The signed-in client. */
  readonly client: MatrixClient | null;
  /** Closes the form and opens the room. */
  finish(form: JoinRoomForm, roomId: string): void;
}

/** The join-a-room dialog. */
export class JoinRoomForm {
  readonly kind = "join";
  readonly task = new Task();
  /** The room address as typed. */
  readonly address = signal("");
  /** Servers to join through, as typed (optional). */
  readonly via = signal("");
  readonly #host: JoinHost;

  constructor(host: JoinHost, options: { address?: string } = {}) {
    this.#host = host;
    this.address.value = options.address ?? "";
  }

  /** Joins the room the address names and opens it; a problem is shown if that fails. */
  async join(): Promise<void> {
    const client = this.#host.client;
    if (!client) return;
    const parsed = parseJoinTarget(this.address.value, this.via.value);
    if (!parsed.ok) return this.task.fail(parsed.key);
    const target = parsed.target;
    let roomId: string | null = null;
    const ok = await this.task.run(async () => {
      const room = await client.joinRoom(target.id, {
        viaServers: target.via.length > 0 ? target.via : undefined,
      });
      roomId = room.roomId;
    }, { explain: (err) => joinProblemOf(err, target) });
    if (ok && roomId) this.#host.finish(this, roomId);
  }
}
