/**
 * Third-party lookups (spec: Client-Server API, "Third-party Networks"): the client asks the
 * homeserver, which asks the application services that declared the protocol
 * (`/_matrix/app/v1/thirdparty/*`) and merges their answers. Each protocol instance gets an
 * `instance_id` of `{appservice id}|{network_id}` (as Synapse builds it), which `/publicRooms`
 * takes as `third_party_instance_id` to list the service's room directory.
 *
 * Answers from services are checked: only objects (and lists of objects) are passed on.
 *
 * @module
 */

import type { JsonObject } from "../http_util.ts";
import { notFound } from "../errors.ts";
import { callAppservice } from "./client.ts";
import type { AppserviceRegistration } from "./registration.ts";
import { APP_V1 } from "./registry.ts";

/** The separator of an instance ID's two parts. */
const INSTANCE_SEPARATOR = "|";

/** The instance ID of a service's network. */
export function instanceId(reg: AppserviceRegistration, networkId: string): string {
  return `${reg.id}${INSTANCE_SEPARATOR}${networkId}`;
}

/** Splits an instance ID into the service ID and network ID, or null when it is not one. */
export function parseInstanceId(id: string): { appserviceId: string; networkId: string } | null {
  const at = id.lastIndexOf(INSTANCE_SEPARATOR);
  if (at <= 0 || at === id.length - 1) return null;
  return { appserviceId: id.slice(0, at), networkId: id.slice(at + 1) };
}

/** The metadata of one protocol, merged across the services that declare it; null if none. */
export async function protocolMetadata(
  services: readonly AppserviceRegistration[],
  protocol: string,
): Promise<JsonObject | null> {
  let merged: JsonObject | null = null;
  for (const reg of services) {
    if (!reg.protocols.includes(protocol)) continue;
    const answer = await callAppservice(
      reg,
      `${APP_V1}/thirdparty/protocol/${encodeURIComponent(protocol)}`,
    );
    if (!answer.ok || !isObject(answer.body)) continue;
    const info = answer.body;
    const instances = (Array.isArray(info.instances) ? info.instances : [])
      .filter(isObject)
      .filter((instance) => typeof instance.network_id === "string")
      .map((instance) => ({
        ...instance,
        instance_id: instanceId(reg, instance.network_id as string),
      }));
    if (merged === null) {
      merged = { ...info, instances };
    } else {
      merged.instances = [...(merged.instances as JsonObject[]), ...instances];
    }
  }
  return merged;
}

/** Every declared protocol's metadata. */
export async function allProtocols(
  services: readonly AppserviceRegistration[],
): Promise<Record<string, JsonObject>> {
  const out: Record<string, JsonObject> = {};
  const protocols = new Set(services.flatMap((reg) => reg.protocols));
  for (const protocol of protocols) {
    const info = await protocolMetadata(services, protocol);
    if (info) out[protocol] = info;
  }
  return out;
}

/**
 * Asks the services for locations or users: of one protocol (with its fields), or by Matrix
 * alias or user ID across every service that declares protocols.
 */
export async function lookup(
  services: readonly AppserviceRegistration[],
  kind: "location" | "user",
  options: { protocol?: string; query: URLSearchParams },
): Promise<JsonObject[]> {
  const { protocol } = options;
  const path = protocol === undefined
    ? `${APP_V1}/thirdparty/${kind}`
    : `${APP_V1}/thirdparty/${kind}/${encodeURIComponent(protocol)}`;
  const out: JsonObject[] = [];
  for (const reg of services) {
    if (protocol !== undefined ? !reg.protocols.includes(protocol) : reg.protocols.length === 0) {
      continue;
    }
    const answer = await callAppservice(reg, path, { query: options.query });
    if (answer.ok && Array.isArray(answer.body)) out.push(...answer.body.filter(isObject));
  }
  return out;
}

/**
 * The metadata of a protocol, or a 404 when no service declares it.
 *
 * @throws {MatrixError} 404 M_NOT_FOUND
 */
export async function requireProtocol(
  services: readonly AppserviceRegistration[],
  protocol: string,
): Promise<JsonObject> {
  const info = await protocolMetadata(services, protocol);
  if (!info) throw notFound(`No application service here bridges the protocol '${protocol}'`);
  return info;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
