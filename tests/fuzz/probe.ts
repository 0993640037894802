/**
 * The probe: before the load, each route is called with plausible parameters and an empty
 * body (or no query), and the names the server's errors quote ("'room_id' is required",
 * "Missing required parameter 'url'") are added and the call repeated. What is learned becomes
 * the route's field names and a skeleton body, so routes that setup never called still get
 * bodies of the right shape to break, without a schema written by hand.
 *
 * @module
 */

import { Rng } from "./rng.ts";
import type { Harness } from "./harness.ts";
import { categoryOf, type FuzzValue, plausibleString } from "./values.ts";
import { adminTargetFor } from "./requests.ts";

/** Rounds of "add what the error named" per route. */
const ROUNDS = 4;

/** The quoted identifiers in an error message. */
export function quotedNames(message: string): string[] {
  return [...message.matchAll(/'([A-Za-z_][A-Za-z0-9_.]{0,63})'/g)].map((m) => m[1]);
}

/** A placeholder of the type an error message asks for. */
function placeholder(rng: Rng, name: string, message: string, h: Harness): FuzzValue {
  const about = message.slice(message.indexOf(`'${name}'`));
  if (/object|map/i.test(about)) return {};
  if (/array|list/i.test(about)) return [];
  if (/integer|number/i.test(about)) return 1;
  if (/true or false|boolean/i.test(about)) return true;
  if (categoryOf(name) === "count") return 1;
  return plausibleString(rng, name, h.plausible);
}

/** Probes every route once; fills `h.learned` and adds skeleton bodies to `h.corpus`. */
export async function probeRoutes(h: Harness): Promise<void> {
  const rng = new Rng(0x9e3779b9); // probes are the same in every run
  for (const route of h.routes) {
    const who = route.path.startsWith("/_synapse/admin") ? "admin" : "user";
    const path = "/" +
      route.segments.map((s) =>
        typeof s === "number"
          ? encodeURIComponent(
            adminTargetFor(route.path, route.params[s].name, h.adminTarget) ??
              h.plausible[categoryOf(route.params[s].name)]?.[0] ?? "fuzz",
          )
          : s
      ).join("/");
    const hasBody = route.method === "POST" || route.method === "PUT";
    const body: Record<string, FuzzValue> = {};
    const query: Record<string, string> = {};
    const names: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const res = await h.call(route.method, path, {
        as: who,
        phase: "probe",
        body: hasBody ? { ...body } : undefined,
        query: { ...query },
        record: round > 0,
      });
      if (res.status < 300) {
        // Did that end the session? Such routes get a live token only now and then later,
        // since every new session costs the server a password hash.
        const check = await h.call("GET", "/_matrix/client/v3/account/whoami", {
          as: who,
          phase: "probe",
        });
        if (check.status === 401) h.tokenKillers.add(route.key);
      }
      if (res.status < 400 || typeof res.json.error !== "string") break;
      const message = res.json.error;
      // Messages also quote values back ("'fuzz' is not a room alias"): those are not names.
      const sent = new Set([...path.split("/").map(decodeURIComponent), ...Object.values(query)]);
      for (const value of Object.values(body)) if (typeof value === "string") sent.add(value);
      const fresh = quotedNames(message).filter((n) => !names.includes(n) && !sent.has(n));
      if (fresh.length === 0) {
        // The error names only fields we sent: fix their type once, or give up.
        let changed = false;
        for (const name of quotedNames(message)) {
          const value = placeholder(rng, name, message, h);
          if (hasBody && JSON.stringify(body[name]) !== JSON.stringify(value)) {
            body[name] = value;
            changed = true;
          }
        }
        if (!changed) break;
        continue;
      }
      // "Missing required parameter" may mean the query as well as the body: try both.
      const missing = res.json.errcode === "M_MISSING_PARAM";
      for (const name of fresh) {
        names.push(name);
        const value = placeholder(rng, name, message, h);
        if (hasBody) body[name] = value;
        if (!hasBody || missing) query[name] = String(value);
      }
    }
    if (names.length > 0) {
      h.learned.set(route.key, names);
      const entry = h.corpus.get(route.key) ?? { bodies: [], queries: [] };
      if (hasBody) entry.bodies.push(body);
      if (Object.keys(query).length > 0) entry.queries.push(query);
      h.corpus.set(route.key, entry);
    }
  }
}
