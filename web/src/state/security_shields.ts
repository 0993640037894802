/**
 * The mark next to a timeline message: whether it was sent from an unverified device, by a
 * sender the user has not verified, or cannot be decrypted yet. Computed lazily, per event, for
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
  /** The sender is someone else whose identity can be verified with emoji. */
  canVerifySender: boolean;
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
  readonly #version = signal(0);
  readonly #entries = new WeakMap<MatrixEvent, Entry>();
  readonly #listening = new WeakSet<MatrixEvent>();
  #api: CryptoApiModule | null = null;
  #sdk: Sdk | null = null;

  constructor(app: AppModel) {
    this.#app = app;
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
      void computeShield(client, this.#api, event, room)
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
  return a.kind === b.kind && a.senderId === b.senderId && a.canVerifySender === b.canVerifySender;
}

async function computeShield(
  client: MatrixClient,
  api: CryptoApiModule,
  event: MatrixEvent,
  room: Room,
): Promise<Shield | null> {
  const crypto = client.getCrypto();
  const senderId = event.getSender() ?? "";
  const me = client.getUserId();
  const other = senderId !== me;
  if (event.isState() || event.status !== null || event.isRedacted()) return null;
  // In-room verification requests are sent in the clear by design (the SDK and Element).
  if (event.getContent().msgtype === "m.key.verification.request") return null;
  if (event.isDecryptionFailure()) {
    return { kind: "waitingForKey", level: "notice", senderId, canVerifySender: false };
  }
  if (!event.isEncrypted()) {
    if (room.hasEncryptionStateEvent() && MESSAGE_TYPES.has(event.getType())) {
      return { kind: "notEncrypted", level: "warning", senderId, canVerifySender: false };
    }
    return null;
  }
  if (!crypto || event.isBeingDecrypted() || !event.getClearContent()) return null;
  const info = await crypto.getEncryptionInfoForEvent(event);
  if (!info) return null;
  const { EventShieldColour, EventShieldReason } = api;
  if (info.shieldColour !== EventShieldColour.NONE) {
    const level = info.shieldColour === EventShieldColour.RED ? "warning" : "notice";
    const kind: ShieldKind = (() => {
      switch (info.shieldReason) {
        case EventShieldReason.UNSIGNED_DEVICE:
        case EventShieldReason.UNKNOWN_DEVICE:
          return "unverifiedDevice";
        case EventShieldReason.UNVERIFIED_IDENTITY:
          return "unverifiedSender";
        case EventShieldReason.AUTHENTICITY_NOT_GUARANTEED:
          return "authenticity";
        case EventShieldReason.VERIFICATION_VIOLATION:
          return "identityChanged";
        case EventShieldReason.MISMATCHED_SENDER:
        case EventShieldReason.MISMATCHED_SENDER_KEY:
          return "mismatchedSender";
        case EventShieldReason.SENT_IN_CLEAR:
          return "notEncrypted";
        default:
          return "problem";
      }
    })();
    const verifiable = other && (kind === "unverifiedDevice" || kind === "unverifiedSender");
    return { kind, level, senderId, canVerifySender: verifiable };
  }
  // A good device of someone the user has not verified: a quiet mark, with a way to verify.
  if (other) {
    const status = await crypto.getUserVerificationStatus(senderId);
    if (!status.isCrossSigningVerified()) {
      return { kind: "unverifiedSender", level: "notice", senderId, canVerifySender: true };
    }
  }
  return null;
}
