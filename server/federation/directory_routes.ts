/**
 * This server's directory as other servers read it (server-server API "Querying for
 * information" and "Public Room Directory"): `GET /_matrix/federation/v1/query/directory`
 * resolves one of our aliases to its room and the servers in it (ours first), and
 * `GET`/`POST /_matrix/federation/v1/publicRooms` list our published rooms with the same
 * listing as the client API (`server/client/directory.ts`).
 *
 * @module
 */

import { Hono } from "hono";
import { serverNameOf } from "../../federation/identifiers.ts";
import { publicRooms, publicRoomsBody } from "../client/directory.ts";
import { invalidParam, jsonResponse, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import type { AppEnv } from "../request_context.ts";
import { federationContent } from "./inbound_auth.ts";
import { serversInRoom } from "./room_events.ts";

const V1 = "/_matrix/federation/v1";
/** Servers named at most in one directory answer (a joiner tries a few). */
const MAX_SERVERS_IN_ANSWER = 50;
/** A listing without a limit (the federation default) still stops here. */
const UNLIMITED_PAGE = 500;

/** The servers to name for a room: ours first, then the others in it, sorted. */
async function residentServers(hs: Homeserver, roomId: string): Promise<string[]> {
  const ours = hs.config.serverName;
  const servers = await serversInRoom(hs, roomId);
  const others = [...servers].filter((s) => s !== ours).sort();
  return [ours, ...others].slice(0, MAX_SERVERS_IN_ANSWER);
}

function limitOf(value: string | undefined): number {
  if (value === undefined || value === "") return UNLIMITED_PAGE;
  if (!/^\d{1,9}$/.test(value)) throw invalidParam("'limit' must be a non-negative integer");
  const n = Number(value);
  return n === 0 ? UNLIMITED_PAGE : n;
}

/** Routes of the federation directory endpoints. */
export function directoryFederationRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const serverName = hs.config.serverName;

  app.get(`${V1}/query/directory`, async (c) => {
    const alias = c.req.query("room_alias");
    if (alias === undefined) throw missingParam("room_alias");
    if (!alias.startsWith("#") || alias.length > 255) {
      throw invalidParam("'room_alias' is not a room alias");
    }
    if (serverNameOf(alias) !== serverName) {
      throw invalidParam(`Room alias ${alias} is not hosted on this server`);
    }
    const record = await hs.rooms.alias(alias);
    if (!record) throw notFound(`Room alias ${alias} not found`);
    return jsonResponse({
      room_id: record.roomId,
      servers: await residentServers(hs, record.roomId),
    });
  });

  // Third-party networks (application services) are not bridged here: asking for all of
  // them lists the same rooms, asking for one instance lists none.
  app.get(`${V1}/publicRooms`, async (c) => {
    if (c.req.query("third_party_instance_id")) return jsonResponse({ chunk: [] });
    return jsonResponse(
      await publicRooms(hs, {
        limit: limitOf(c.req.query("limit")),
        since: c.req.query("since") || undefined,
      }),
    );
  });

  app.post(`${V1}/publicRooms`, async (c) => {
    const body = federationContent(c) ?? {};
    if (typeof body.third_party_instance_id === "string") return jsonResponse({ chunk: [] });
    const options = publicRoomsBody(body);
    const limit = options.limit === undefined || options.limit <= 0
      ? UNLIMITED_PAGE
      : options.limit;
    return jsonResponse(await publicRooms(hs, { ...options, limit }));
  });

  return app;
}
