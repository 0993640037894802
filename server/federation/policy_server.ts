/**
 * Policy Servers (Server-Server API "Policy Servers", spec v1.18, MSC4284), from the side of a
 * homeserver in a protected room: gemeng is not a Policy Server itself.
 *
 * A room uses a Policy Server when its current state holds a valid `m.room.policy` event with
 * an empty state key (a string `via`, a string `public_keys.ed25519`) and the `via` server has
 * a joined user in that state. Then every event but that state event must carry the Policy
 * Server's signature (key ID `ed25519:policy_server`, the key from the state event, over the
 * redacted event as for server signatures):
 *
 * - a local event is sent to the Policy Server (`POST /_matrix/policy/v1/sign`) before it is
 *   stored; a refusal reaches the client with the Policy Server's errcode and error, and the
 *   event is dropped. An unreachable Policy Server (or one whose signature does not verify)
 *   also stops the event: the spec says servers SHOULD fail to send it.
 * - a received event without a valid signature is soft-failed by the pipeline. It is not sent
 *   back to the Policy Server for a new signature (the spec's SHOULD): any server could
 *   otherwise make us call the Policy Server once per event it sends, while the room waits.
 *   An event this server relays for another (a join, leave or knock through us, an invite
 *   countersigned by the invitee's server) is sent into the room by us, so we ask for its
 *   signature ourselves; a refusal refuses the request.
 *
 * gemeng does not act as a Policy Server: a room naming this server as `via` cannot be
 * written to from here (nor by any other server, which get 404 M_UNRECOGNIZED from us).
 *
 * The pipeline consults this only for rooms whose current state has an `m.room.policy` entry
 * (a map lookup), so other rooms pay nothing. The room's policy is computed once per current
 * state: state maps are replaced, never modified, so they key a weak cache.
 *
 * @module
 */

import { decodePublicKey, verifyJsonSignature } from "../../crypto/signing.ts";
import { serverNameOf } from "../../federation/identifiers.ts";
import { isJsonObject, redactPdu } from "../../federation/redaction.ts";
import type { RoomVersionRules } from "../../federation/room_versions.ts";
import {
  type JsonObject,
  type RoomEvent,
  type StateMap,
  stateTupleKey,
} from "../../federation/types.ts";
import { MatrixError } from "../errors.ts";
import type { RoomStore } from "../rooms/room_store.ts";
import type { PolicyCheck } from "../rooms/event_pipeline.ts";
import { type FederationClient, FederationRequestError } from "./client.ts";

/** The key ID of every Policy Server signature. */
export const POLICY_SERVER_KEY_ID = "ed25519:policy_server";

/** How long a local event waits for the Policy Server's answer. */
export const POLICY_SIGN_TIMEOUT_MS = 10_000;

/** The largest answer read from a Policy Server (one signature is under 200 bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

const MEMBER_PREFIX = stateTupleKey("m.room.member", "");

/** The Policy Server a room uses. */
export interface RoomPolicy {
  /** Its server name (`via`). */
  via: string;
  /** Its Ed25519 public key from `public_keys.ed25519`. */
  publicKey: Uint8Array;
}

/** Is this the event the Policy Server never signs: `m.room.policy` with an empty state key? */
export function isPolicyStateEvent(event: Pick<RoomEvent, "type" | "stateKey">): boolean {
  return event.type === "m.room.policy" && event.stateKey === "";
}

/**
 * The `via` and key of a valid `m.room.policy` content; null when it does not configure a
 * Policy Server (the room then uses none).
 */
export function policyOfContent(content: JsonObject): RoomPolicy | null {
  const via = content.via;
  const keys = content.public_keys;
  if (typeof via !== "string" || via === "" || !isJsonObject(keys)) return null;
  if (typeof keys.ed25519 !== "string") return null;
  // A key that is not 32 bytes of base64 can verify nothing: every event would lack a valid
  // signature, which is what the room asked for.
  return { via, publicKey: decodePublicKey(keys.ed25519) ?? new Uint8Array(0) };
}

/** Does `event` carry a valid signature of the room's Policy Server? */
export async function hasPolicySignature(
  event: RoomEvent,
  policy: RoomPolicy,
  rules: RoomVersionRules,
): Promise<boolean> {
  const redacted = redactPdu(event.pdu, rules);
  if (rules.eventFormat === "v1") redacted.event_id = event.eventId;
  return await verifyJsonSignature(redacted, policy.via, POLICY_SERVER_KEY_ID, policy.publicKey, {
    strict: rules.strictCanonicalJson,
  });
}

/** What {@link PolicyServers} needs. */
export interface PolicyServersOptions {
  rooms: RoomStore;
  /** Signs and sends the requests to Policy Servers. */
  client: FederationClient;
  /** Time for one signing request (default {@link POLICY_SIGN_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** The Policy Server checks of one homeserver, installed in its pipeline. */
export class PolicyServers implements PolicyCheck {
  readonly #rooms: RoomStore;
  readonly #client: FederationClient;
  readonly #timeoutMs: number;
  readonly #policies = new WeakMap<StateMap, Promise<RoomPolicy | null>>();

  constructor(options: PolicyServersOptions) {
    this.#rooms = options.rooms;
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs ?? POLICY_SIGN_TIMEOUT_MS;
  }

  /**
   * The Policy Server a room with current state `state` uses, or null: the `m.room.policy`
   * event must be valid and its `via` server must have a joined member in `state`.
   */
  policyOf(state: StateMap): Promise<RoomPolicy | null> {
    let policy = this.#policies.get(state);
    if (!policy) {
      policy = this.#load(state);
      this.#policies.set(state, policy);
      policy.catch(() => this.#policies.delete(state));
    }
    return policy;
  }

  /**
   * `event` with the Policy Server's signature added, or `event` itself when the room uses
   * no Policy Server (or the event is the `m.room.policy` state event).
   *
   * @throws {MatrixError} the Policy Server's own error when it refuses; 502 M_UNKNOWN when it
   *   cannot be reached or its answer is unusable
   */
  async sign(event: RoomEvent, state: StateMap, rules: RoomVersionRules): Promise<RoomEvent> {
    if (isPolicyStateEvent(event)) return event;
    const policy = await this.policyOf(state);
    if (!policy) return event;
    const signature = await this.#ask(event, policy);
    const signatures = isJsonObject(event.pdu.signatures) ? event.pdu.signatures : {};
    const own = isJsonObject(signatures[policy.via]) ? signatures[policy.via] as JsonObject : {};
    // The Policy Server may be the event's origin too: keep the signatures already there.
    const signed: RoomEvent = {
      ...event,
      pdu: {
        ...event.pdu,
        signatures: { ...signatures, [policy.via]: { ...own, [POLICY_SERVER_KEY_ID]: signature } },
      },
    };
    if (!await hasPolicySignature(signed, policy, rules)) {
      throw unusable(policy.via, "its signature does not match the key in m.room.policy");
    }
    return signed;
  }

  /**
   * Is a received event recommended for the room: no Policy Server in use, the
   * `m.room.policy` state event itself, or a valid Policy Server signature?
   */
  async recommends(event: RoomEvent, state: StateMap, rules: RoomVersionRules): Promise<boolean> {
    if (isPolicyStateEvent(event)) return true;
    const policy = await this.policyOf(state);
    return policy === null || await hasPolicySignature(event, policy, rules);
  }

  async #load(state: StateMap): Promise<RoomPolicy | null> {
    const id = state.get(stateTupleKey("m.room.policy", ""));
    if (id === undefined) return null;
    const stored = await this.#rooms.event(id);
    const policy = stored ? policyOfContent(stored.event.content) : null;
    if (!policy) return null;
    const members: string[] = [];
    for (const [key, eventId] of state) {
      if (!key.startsWith(MEMBER_PREFIX)) continue;
      if (serverNameOf(key.slice(MEMBER_PREFIX.length)) === policy.via) members.push(eventId);
    }
    for (const member of (await this.#rooms.events(members)).values()) {
      if (member.event.content.membership === "join") return policy;
    }
    return null;
  }

  /** Asks the Policy Server to sign; its signature, or the error the client gets. */
  async #ask(event: RoomEvent, policy: RoomPolicy): Promise<string> {
    let answer;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The client bounds each connection; discovery and retried addresses come on top of that,
    // and the room waits meanwhile: one deadline for the whole request.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new FederationRequestError("TIMEOUT", policy.via, "no answer in time")),
        this.#timeoutMs,
      );
    });
    try {
      const asking = this.#client.request(policy.via, {
        method: "POST",
        path: "/_matrix/policy/v1/sign",
        body: event.pdu,
        timeoutMs: this.#timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
      asking.catch(() => {});
      answer = await Promise.race([asking, deadline]);
    } catch (err) {
      if (err instanceof FederationRequestError && err.code === "SELF") {
        throw unusable(policy.via, "that is this server, which does not act as one");
      }
      if (err instanceof FederationRequestError) {
        throw unusable(policy.via, `it could not be reached (${err.code})`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const json = isJsonObject(answer.json) ? answer.json : null;
    if (answer.status >= 200 && answer.status < 300) {
      const entry = json?.[policy.via];
      const signature = isJsonObject(entry) ? entry[POLICY_SERVER_KEY_ID] : undefined;
      if (typeof signature === "string") return signature;
      throw unusable(policy.via, "its answer has no signature");
    }
    const refusal = refusalOf(answer.status, json);
    if (refusal) throw refusal;
    throw unusable(policy.via, `it answered ${answer.status}`);
  }
}

/**
 * The Policy Server's error as the client gets it (the spec: verbatim): its errcode and error,
 * 429 with `retry_after_ms` when rate-limited, 403 for M_FORBIDDEN, else 400. Null when the
 * answer carries no Matrix error (a 5xx page, say).
 */
function refusalOf(status: number, json: JsonObject | null): MatrixError | null {
  const errcode = json?.errcode;
  if (status < 400 || status >= 500 || typeof errcode !== "string") return null;
  if (!/^[A-Za-z0-9_.]{1,128}$/.test(errcode)) return null;
  const text = typeof json?.error === "string" && json.error !== ""
    ? json.error.slice(0, 1000)
    : "The room's policy server refused to sign this event";
  if (errcode === "M_LIMIT_EXCEEDED" || status === 429) {
    const retry = json?.retry_after_ms;
    return new MatrixError(errcode, text, {
      status: 429,
      extra: typeof retry === "number" && retry >= 0 ? { retry_after_ms: retry } : {},
    });
  }
  return new MatrixError(errcode, text, { status: errcode === "M_FORBIDDEN" ? 403 : 400 });
}

function unusable(via: string, why: string): MatrixError {
  return new MatrixError(
    "M_UNKNOWN",
    `The event was not sent: the room's policy server ${via} must sign it, but ${why}`,
    { status: 502 },
  );
}
