/**
 * A local user joins or leaves a room hosted elsewhere (server-server API "Joining Rooms",
 * "Leaving Rooms", the joining server's side): `make_join` to a resident server, our
 * signature on the drafted event, `send_join` v2, the checks of every event of the answer,
 * then the pipeline's `join` mode stores the room's state and our join on top of it. Also
 * resolves remote aliases with the federation directory query.
 *
 * @module
 */

import { randomString } from "../../crypto/tokens.ts";
import { signPdu } from "../../federation/build_event.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { ROOM_VERSIONS, roomVersion } from "../../federation/room_versions.ts";
import type { JsonObject, PduJson, RoomEvent } from "../../federation/types.ts";
import { forbidden, MatrixError, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { RoomRecord } from "../rooms/schema.ts";
import { checkIncomingPdu } from "./incoming.ts";
import { mapLimited } from "../concurrency.ts";

/** At most this many resident servers are tried for one join. */
const MAX_JOIN_SERVERS = 5;
/** PDUs checked at once while verifying a join answer. */
const CHECK_CONCURRENCY = 16;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Resolves `#alias:server` on its server (`/query/directory`). */
export async function queryRemoteAlias(
  hs: Homeserver,
  alias: string,
): Promise<{ roomId: string; servers: string[] }> {
  const server = serverNameOf(alias)!;
  let res;
  try {
    res = await hs.federation.client.request(server, {
      method: "GET",
      path: "/_matrix/federation/v1/query/directory",
      query: { room_alias: alias },
    });
  } catch (err) {
    throw new MatrixError(
      "M_UNKNOWN",
      `${server} could not be reached: ${(err as Error).message}`,
      {
        status: 502,
      },
    );
  }
  const body = res.json as { room_id?: unknown; servers?: unknown };
  if (res.status === 404) throw notFound(`Room alias ${alias} not found`);
  if (res.status !== 200 || typeof body?.room_id !== "string") {
    throw new MatrixError("M_UNKNOWN", `${server} did not resolve ${alias}`, { status: 502 });
  }
  const servers = Array.isArray(body.servers)
    ? body.servers.filter((s): s is string => typeof s === "string").slice(0, 20)
    : [];
  return { roomId: body.room_id, servers: servers.length > 0 ? servers : [server] };
}

/** The servers to ask for a join: those given, then the room ID's own server. */
export function candidateServers(hs: Homeserver, roomId: string, via: readonly string[]): string[] {
  const out: string[] = [];
  const add = (s: string | undefined) => {
    if (s && s !== hs.config.serverName && !out.includes(s)) out.push(s);
  };
  for (const s of via) add(s);
  add(serverNameOf(roomId));
  return out.slice(0, MAX_JOIN_SERVERS);
}

/**
 * Joins `userId` to the remote room `roomId` through one of `servers`.
 *
 * @throws {MatrixError} M_FORBIDDEN when the resident server refuses, M_UNKNOWN (502) when no
 *   server could be reached or answered correctly
 */
export async function joinRemoteRoom(
  hs: Homeserver,
  options: { roomId: string; userId: string; servers: readonly string[]; content?: JsonObject },
): Promise<RoomEvent> {
  const { roomId, userId } = options;
  const errors: string[] = [];
  for (const server of options.servers) {
    try {
      return await joinVia(hs, server, options);
    } catch (err) {
      if (err instanceof MatrixError && err.code === "M_FORBIDDEN") throw err;
      errors.push(`${server}: ${(err as Error).message}`);
    }
  }
  if (errors.length === 0) throw notFound(`No server to join ${roomId} through`);
  throw new MatrixError(
    "M_UNKNOWN",
    `Could not join ${roomId} for ${userId}: ${errors.join("; ").slice(0, 1000)}`,
    { status: 502 },
  );
}

async function joinVia(
  hs: Homeserver,
  server: string,
  options: { roomId: string; userId: string; content?: JsonObject },
): Promise<RoomEvent> {
  const { roomId, userId } = options;
  const client = hs.federation.client;
  const make = await client.request(server, {
    method: "GET",
    path: `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${
      encodeURIComponent(userId)
    }`,
    query: { ver: [...ROOM_VERSIONS.keys()] },
  });
  const made = make.json as { room_version?: unknown; event?: unknown; errcode?: unknown };
  if (make.status === 403) {
    const reason = typeof (made as { error?: unknown })?.error === "string"
      ? String((made as { error: string }).error).slice(0, 300)
      : String(made?.errcode ?? "");
    throw forbidden(`${server} refused the join: ${reason}`);
  }
  if (make.status !== 200 || !isObject(made?.event)) {
    throw new Error(`make_join answered ${make.status}`);
  }
  const version = typeof made.room_version === "string" ? made.room_version : "1";
  const rules = roomVersion(version);
  if (!rules) throw new Error(`unsupported room version ${version}`);
  const draft = made.event as PduJson;
  const draftContent = isObject(draft.content) ? draft.content : {};
  if (
    draft.type !== "m.room.member" || draft.state_key !== userId || draft.sender !== userId ||
    draftContent.membership !== "join" ||
    (draft.room_id !== undefined && draft.room_id !== roomId)
  ) {
    throw new Error("make_join drafted another event than our join");
  }
  const unsigned: PduJson = {
    ...draft,
    origin: hs.config.serverName,
    origin_server_ts: Date.now(),
    content: { ...options.content, ...draftContent, membership: "join" },
  };
  if (rules.eventFormat === "v1") {
    unsigned.event_id = `$${randomString(18)}:${hs.config.serverName}`;
  }
  const join = await signPdu(unsigned, {
    rules,
    origin: hs.config.serverName,
    signingKey: hs.signingKey,
    roomId,
  });
  const send = await client.request(server, {
    method: "PUT",
    path: `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${
      encodeURIComponent(join.eventId)
    }`,
    body: join.pdu,
    maxBytes: 256 * 1024 * 1024,
    timeoutMs: 120_000,
  });
  const answer = send.json as { state?: unknown; auth_chain?: unknown; event?: unknown };
  if (send.status === 403) throw forbidden(`${server} refused the join`);
  if (send.status !== 200 || !Array.isArray(answer?.state) || !Array.isArray(answer.auth_chain)) {
    throw new Error(`send_join answered ${send.status}`);
  }
  let joinEvent = join;
  if (isObject(answer.event)) {
    // A restricted join comes back signed by the authorising server as well.
    const signed = await checkIncomingPdu(hs, answer.event, { rules, roomId });
    if (signed.ok && signed.event.eventId === join.eventId) joinEvent = signed.event;
  }
  const check = async (pdu: unknown) => {
    const checked = await checkIncomingPdu(hs, pdu, { rules, roomId });
    return checked.ok ? checked.event : null;
  };
  const state = (await mapLimited(answer.state, CHECK_CONCURRENCY, check))
    .filter((e) => e !== null);
  const authChain = (await mapLimited(answer.auth_chain, CHECK_CONCURRENCY, check))
    .filter((e) => e !== null);
  const create = state.find((e) => e.type === "m.room.create" && e.stateKey === "");
  if (!create) throw new Error("the join answer has no valid create event");
  const room: RoomRecord = {
    roomId,
    roomVersion: version,
    createEventId: create.eventId,
    creator: create.sender,
    createdTs: create.originServerTs,
  };
  const [result] = await hs.pipeline.admit({
    mode: "join",
    room,
    event: joinEvent,
    state,
    authChain,
  });
  return result.stored.event;
}
