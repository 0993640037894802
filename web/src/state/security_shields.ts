/**
 * The mark next to a timeline message, only where it means something: a verified person (or the
 * reader) writing from a device they did not verify, an identity that changed after it was
 * verified, a message that is not encrypted, cannot be decrypted yet or is forged, and, when the
 * user asked for it, senders they have not verified. Computed lazily, per event, for
 * the events on screen, and again when the event is decrypted or trust changes.
 *
 * @module
 */

import { type Signal, signal } from "@preact/signals";
import type { MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { type CryptoApiModule, loadCryptoApi } from "../matrix/crypto_api.ts";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";

/** What is wrong with a message, if anything. */
export type ShieldKind =
  | "waitingForKey"
  | "unverifiedDevice"
  | "unverifiedSender"
  | "notEncrypted"
  | "authenticity"
  | "identityChanged"
  | "mismatchedSender"
  | "problem";

/** A mark to show. */
export interface Shield {
  kind: ShieldKind;
  /** "warning" for red shields (a device or identity problem); "notice" for the rest. */
  level: "notice" | "warning";
  senderId: string;
  /** The sender is someone else, not verified (or changed since), who can be verified. */
  canVerifySender: boolean;
  /** The reader sent it (from another of their devices). */
  own: boolean;
  /** Shown only because the user asked to be warned about unverified senders. */
  optIn: boolean;
  /** The device it came from, when known (to tell the user which one it is). */
  deviceId: string | null;
  deviceName: string | null;
}

interface Entry {
  /** A new object whenever the mark changes or was computed for an outdated trust state. */
  value: Signal<{ shield: Shield | null }>;
  version: number;
  running: boolean;
}

/** Event types that are messages a person reads (others get no mark when sent in the clear). */
const MESSAGE_TYPES = new Set(["m.room.message", "m.sticker", "m.poll.start", "m.call.invite"]);

/** Computes and caches the marks. */
export class ShieldTracker {
  readonly #app: AppModel;
  readonly #warnUnverified: () => boolean;
  readonly #version = signal(0);
  readonly #entries = new WeakMap<MatrixEvent, Entry>();
  readonly #listening = new WeakSet<MatrixEvent>();
  #api: CryptoApiModule | null = null;
  #sdk: Sdk | null = null;

  /** `warnUnverified` says whether the user asked to be warned about unverified senders. */
  constructor(app: AppModel, warnUnverified: () => boolean) {
    this.#app = app;
    this.#warnUnverified = warnUnverified;
    void Promise.all([loadSdk(), loadCryptoApi()]).then(([sdk, api]) => {
      this.#sdk = sdk;
      this.#api = api;
      this.trustChanged();
    }).catch(() => {});
  }

  /** Recompute the marks (trust in a user or device changed). */
  trustChanged(): void {
    this.#version.value = this.#version.peek() + 1;
  }

  /**
   * The mark for `event` in `room`, or null. Reading it subscribes the caller; the value is
   * filled in asynchronously and refreshed when the event decrypts or trust changes.
   */
  shieldFor(event: MatrixEvent, room: Room): Shield | null {
    const version = this.#version.value;
    let entry = this.#entries.get(event);
    if (!entry) {
      entry = {
        value: signal<{ shield: Shield | null }>({ shield: null }),
        version: -1,
        running: false,
      };
      this.#entries.set(event, entry);
    }
    const { shield } = entry.value.value;
    const client = this.#app.session.client;
    if (entry.version !== version && !entry.running && client && this.#api && this.#sdk) {
      this.#listen(this.#sdk, event);
      entry.running = true;
      const target = entry;
      void computeShield(client, this.#api, event, room, this.#warnUnverified())
        .catch(() => null)
        .then((next) => {
          target.running = false;
          target.version = version;
          // A new object re-renders the reader, which asks again when trust changed meanwhile.
          const stale = this.#version.peek() !== version;
          if (stale || !sameShield(target.value.peek().shield, next)) {
            target.value.value = { shield: next };
          }
        });
    }
    return shield;
  }

  #listen(sdk: Sdk, event: MatrixEvent): void {
    if (this.#listening.has(event)) return;
    this.#listening.add(event);
    event.on(sdk.MatrixEventEvent.Decrypted, () => {
      const entry = this.#entries.get(event);
      if (!entry) return;
      entry.version = -1;
      this.#version.value = this.#version.peek() + 1;
    });
  }
}

function sameShield(a: Shield | null, b: Shield | null): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.senderId === b.senderId && a.deviceId === b.deviceId &&
    a.deviceName === b.deviceName && a.optIn === b.optIn;
}

/** The crypto's reason for a shield, as one of ours. */
function kindOf(api: CryptoApiModule, reason: number | null): ShieldKind {
  const { EventShieldReason: R } = api;
  switch (reason) {
    case R.UNSIGNED_DEVICE:
    case R.UNKNOWN_DEVICE:
      return "unverifiedDevice";
    case R.UNVERIFIED_IDENTITY:
      return "unverifiedSender";
    case R.AUTHENTICITY_NOT_GUARANTEED:
      return "authenticity";
    case R.VERIFICATION_VIOLATION:
      return "identityChanged";
    case R.MISMATCHED_SENDER:
    case R.MISMATCHED_SENDER_KEY:
      return "mismatchedSender";
    case R.SENT_IN_CLEAR:
      return "notEncrypted";
    default:
      return "problem";
  }
}

/** The device of `userId` whose Curve25519 key is `senderKey`, if the crypto knows it. */
async function senderDevice(client: MatrixClient, userId: string, senderKey: string | null) {
  const crypto = client.getCrypto();
  if (!crypto || !senderKey) return null;
  const devices = (await crypto.getUserDeviceInfo([userId])).get(userId);
  for (const device of devices?.values() ?? []) {
    if (device.getIdentityKey() === senderKey) return device;
  }
  return null;
}

/**
 * What Element does by default: no mark on the reader's own messages from this device, none
 * for people the reader has not verified (unless they asked to be warned), a red mark when a
 * verified person (the reader included) writes from a device they did not verify or changed
 * their identity, and marks for messages that are unencrypted, undecryptable or forged.
 */
async function computeShield(
  client: MatrixClient,
  api: CryptoApiModule,
  event: MatrixEvent,
  room: Room,
  warnUnverified: boolean,
): Promise<Shield | null> {
  const crypto = client.getCrypto();
  const senderId = event.getSender() ?? "";
  const mine = senderId === client.getUserId();
  if (event.isState() || event.status !== null || event.isRedacted()) return null;
  // In-room verification requests are sent in the clear by design (the SDK and Element).
  if (event.getContent().msgtype === "m.key.verification.request") return null;
  const shield = (kind: ShieldKind, level: Shield["level"], verifiable = false): Shield => ({
    kind,
    level,
    senderId,
    canVerifySender: !mine && verifiable,
    own: mine,
    optIn: false,
    deviceId: null,
    deviceName: null,
  });
  if (event.isDecryptionFailure()) return shield("waitingForKey", "notice");
  if (!event.isEncrypted()) {
    if (room.hasEncryptionStateEvent() && MESSAGE_TYPES.has(event.getType())) {
      return shield("notEncrypted", "warning");
    }
    return null;
  }
  if (!crypto || event.isBeingDecrypted() || !event.getClearContent()) return null;
  const senderKey = event.getSenderKey();
  if (mine && senderKey && senderKey === (await crypto.getOwnDeviceKeys()).curve25519) return null;
  const info = await crypto.getEncryptionInfoForEvent(event);
  if (!info) return null;
  const flagged = info.shieldColour !== api.EventShieldColour.NONE;
  const kind = flagged ? kindOf(api, info.shieldReason) : null;
  let result: Shield | null;
  if (kind === null || kind === "unverifiedDevice" || kind === "unverifiedSender") {
    // Trust questions: they matter for people the reader verified, or when asked to be warned.
    const verified = (await crypto.getUserVerificationStatus(senderId)).isCrossSigningVerified();
    if (kind === "unverifiedDevice" && (verified || warnUnverified)) {
      result = shield(kind, "warning", !verified);
      result.optIn = !verified;
    } else if (!mine && !verified && warnUnverified) {
      result = shield("unverifiedSender", "warning", true);
      result.optIn = true;
    } else {
      return null;
    }
  } else {
    const red = info.shieldColour === api.EventShieldColour.RED;
    result = shield(kind, red ? "warning" : "notice", kind === "identityChanged");
  }
  const device = await senderDevice(client, senderId, senderKey).catch(() => null);
  const deviceId = device?.deviceId ?? event.getWireContent().device_id;
  result.deviceId = typeof deviceId === "string" ? deviceId : null;
  result.deviceName = device?.displayName ?? null;
  return result;
}
