/**
 * Interactive verification with emoji (SAS, the spec's `m.sas.v1`): of another device of the
 * account (to-device), of this device by another one, and of another user (in a direct-message
 * room). One verification at a time; {@link VerificationModel.view} says what to show.
 *
 * The side that sent the request starts the emoji comparison once the other side accepted; both
 * sides then show the same seven emoji and confirm or deny that they match.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type {
  ShowSasCallbacks,
  VerificationRequest,
  Verifier,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import type { MessageKey } from "../i18n/index.ts";
import { type CryptoApiModule, loadCryptoApi } from "../matrix/crypto_api.ts";
import { loadSdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";

/** An emoji and its English name, as the SDK gives them. */
export type SasEmoji = readonly [emoji: string, name: string];

/** What the verification overlay shows. */
export type VerificationView =
  | { step: "incoming"; userId: string; self: boolean; deviceId: string | null }
  | { step: "waiting"; userId: string; self: boolean }
  | { step: "starting" }
  | { step: "compare"; emoji: readonly SasEmoji[]; confirming: boolean }
  | { step: "done"; userId: string; self: boolean }
  | { step: "cancelled"; reason: "mismatch" | "timeout" | "other" }
  | { step: "failed"; problem: MessageKey; params: Record<string, string> };

/** Why a verification could not start. */
export class VerificationError extends Error {
  constructor(readonly code: "noClient" | "noIdentity" | "ownIdentityMissing", message?: string) {
    super(message ?? code);
    this.name = "VerificationError";
  }
}

const SAS = "m.sas.v1";

/** The verification model. */
export class VerificationModel {
  readonly #app: AppModel;
  readonly #view = signal<VerificationView | null>(null);
  #client: MatrixClient | null = null;
  #api: CryptoApiModule | null = null;
  #detach: (() => void) | null = null;
  #request: VerificationRequest | null = null;
  #verifier: Verifier | null = null;
  #sas: ShowSasCallbacks | null = null;
  #startedSas = false;
  #confirming = false;
  #failure: { problem: MessageKey; params: Record<string, string> } | null = null;

  /** The running or finished verification; null when there is none to show. */
  readonly view: ReadonlySignal<VerificationView | null> = computed(() => this.#view.value);

  constructor(app: AppModel) {
    this.#app = app;
    effect(() => {
      const client = app.session.clientReady.value;
      if (client !== this.#client) this.#attach(client);
    });
  }

  #attach(client: MatrixClient | null): void {
    this.#detach?.();
    this.#detach = null;
    this.#client = client;
    this.#forget();
    if (!client) return;
    let live = true;
    this.#detach = () => live = false;
    void loadCryptoApi().then((api) => {
      if (!live) return;
      this.#api = api;
      const onRequest = (request: VerificationRequest) => this.#incoming(request);
      client.on(api.CryptoEvent.VerificationRequestReceived, onRequest);
      this.#detach = () => {
        live = false;
        client.off(api.CryptoEvent.VerificationRequestReceived, onRequest);
      };
    });
  }

  #busy(): boolean {
    const phase = this.#request?.phase;
    const api = this.#api;
    if (!api || phase === undefined) return false;
    return phase !== api.VerificationPhase.Done && phase !== api.VerificationPhase.Cancelled &&
      this.#failure === null;
  }

  #incoming(request: VerificationRequest): void {
    // One at a time: a second request waits (and times out) while one runs.
    if (this.#busy()) return;
    if (!request.roomId) {
      this.#track(request);
      return;
    }
    // After a reload the SDK hands the crypto an in-room request again from the stored
    // timeline, without this device's own answers: a request that this account already
    // answered (or that was cancelled or finished) in the room is old, not new. Look once the
    // rest of the stored timeline is in.
    setTimeout(() => {
      if (this.#busy() || request.phase === this.#api?.VerificationPhase.Cancelled) return;
      if (!answeredInRoom(this.#client, request)) this.#track(request);
    }, 500);
  }

  #forget(): void {
    this.#request = null;
    this.#verifier = null;
    this.#sas = null;
    this.#startedSas = false;
    this.#confirming = false;
    this.#failure = null;
    this.#view.value = null;
  }

  #track(request: VerificationRequest): void {
    this.#forget();
    this.#request = request;
    const api = this.#api!;
    request.on(api.VerificationRequestEvent.Change, () => {
      if (this.#request === request) this.#update();
    });
    this.#update();
  }

  #fail(problem: MessageKey, params: Record<string, string> = {}): void {
    this.#failure = { problem, params };
    this.#update();
  }

  #update(): void {
    const request = this.#request;
    const api = this.#api;
    if (!request || !api) {
      this.#view.value = this.#failure ? { step: "failed", ...this.#failure } : null;
      return;
    }
    if (this.#failure) {
      this.#view.value = { step: "failed", ...this.#failure };
      return;
    }
    const { VerificationPhase } = api;
    const userId = request.otherUserId;
    const self = request.isSelfVerification;
    switch (request.phase) {
      case VerificationPhase.Unsent:
      case VerificationPhase.Requested:
        this.#view.value = request.initiatedByMe
          ? { step: "waiting", userId, self }
          : request.accepting
          ? { step: "starting" }
          : { step: "incoming", userId, self, deviceId: request.otherDeviceId ?? null };
        return;
      case VerificationPhase.Ready:
        this.#view.value = { step: "starting" };
        if (request.initiatedByMe && !this.#startedSas) void this.#startSas(request);
        return;
      case VerificationPhase.Started: {
        const verifier = request.verifier;
        if (verifier && verifier !== this.#verifier) this.#run(request, verifier);
        const emoji = this.#sas?.sas.emoji;
        this.#view.value = emoji
          ? { step: "compare", emoji, confirming: this.#confirming }
          : { step: "starting" };
        return;
      }
      case VerificationPhase.Done:
        if (!self && this.#view.peek()?.step !== "done") void this.#refreshKeys(request);
        this.#view.value = { step: "done", userId, self };
        return;
      case VerificationPhase.Cancelled: {
        const code = request.cancellationCode;
        const reason = code === "m.mismatched_sas"
          ? "mismatch"
          : code === "m.timeout"
          ? "timeout"
          : "other";
        this.#view.value = { step: "cancelled", reason };
        return;
      }
    }
  }

  async #startSas(request: VerificationRequest): Promise<void> {
    this.#startedSas = true;
    try {
      if (!request.otherPartySupportsMethod(SAS)) {
        this.#fail("security.verification.failed", { message: "no emoji verification" });
        await request.cancel();
        return;
      }
      const verifier = await request.startVerification(SAS);
      if (this.#request === request && verifier !== this.#verifier) this.#run(request, verifier);
    } catch (err) {
      if (this.#request === request) {
        this.#fail("security.verification.failed", { message: text(err) });
      }
    }
  }

  #run(request: VerificationRequest, verifier: Verifier): void {
    const api = this.#api!;
    this.#verifier = verifier;
    const onSas = (sas: ShowSasCallbacks) => {
      if (this.#request !== request) return;
      this.#sas = sas;
      this.#update();
    };
    verifier.on(api.VerifierEvent.ShowSas, onSas);
    verifier.on(api.VerifierEvent.Cancel, () => this.#request === request && this.#update());
    const shown = verifier.getShowSasCallbacks();
    if (shown) this.#sas = shown;
    verifier.verify().then(
      () => this.#request === request && this.#update(),
      (err) => {
        if (this.#request !== request) return;
        // A cancellation (by either side) shows as such; anything else is a failure.
        if (request.phase !== api.VerificationPhase.Cancelled && !verifier.hasBeenCancelled) {
          this.#fail("security.verification.failed", { message: text(err) });
        } else this.#update();
      },
    );
  }

  /**
   * After verifying another user, asks the server for their keys again until the new signature
   * on their master key (and so their verified state) shows here: the signature is uploaded
   * after the verification ends, and a server need not list the signed user in this account's
   * `device_lists.changed`. Bounded: a few tries over about ten seconds.
   */
  async #refreshKeys(request: VerificationRequest): Promise<void> {
    const client = this.#client;
    const crypto = client?.getCrypto() as
      | (NonNullable<ReturnType<MatrixClient["getCrypto"]>> & {
        markAllTrackedUsersAsDirty?: () => Promise<void>;
      })
      | undefined;
    if (!client || !crypto?.markAllTrackedUsersAsDirty) return;
    const userId = request.otherUserId;
    const room = request.roomId ? client.getRoom(request.roomId) : null;
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        if ((await crypto.getUserVerificationStatus(userId)).isCrossSigningVerified()) return;
        await new Promise((resolve) => setTimeout(resolve, 1200));
        if (this.#client !== client) return;
        await crypto.markAllTrackedUsersAsDirty();
        // Preparing to encrypt sends the pending key queries now, not after the next sync.
        if (room) crypto.prepareToEncrypt(room);
      }
    } catch (err) {
      console.warn("gemeng: could not refresh keys after a verification", err);
    }
  }

  /** Accepts the incoming request. */
  async accept(): Promise<void> {
    const request = this.#request;
    if (!request) return;
    try {
      await request.accept();
    } catch (err) {
      this.#fail("security.verification.failed", { message: text(err) });
    }
    this.#update();
  }

  /** Declines the incoming request (and closes). */
  async decline(): Promise<void> {
    const request = this.#request;
    this.#forget();
    await request?.cancel().catch(() => {});
  }

  /** The emoji are the same on both screens. */
  async confirmMatch(): Promise<void> {
    const sas = this.#sas;
    if (!sas || this.#confirming) return;
    this.#confirming = true;
    this.#update();
    try {
      await sas.confirm();
    } catch (err) {
      this.#fail("security.verification.failed", { message: text(err) });
    }
    this.#update();
  }

  /** The emoji differ: stop, telling the other side. */
  denyMatch(): void {
    this.#sas?.mismatch();
    this.#update();
  }

  /** Stops a running verification, or closes a finished one. */
  async close(): Promise<void> {
    const request = this.#request;
    const running = this.#busy();
    this.#forget();
    if (running) await request?.cancel().catch(() => {});
  }

  async #begin(start: (client: MatrixClient) => Promise<VerificationRequest>): Promise<void> {
    const client = this.#client;
    if (!client) throw new VerificationError("noClient");
    this.#api ??= await loadCryptoApi();
    if (this.#busy()) await this.close();
    this.#forget();
    this.#view.value = { step: "starting" };
    try {
      const request = await start(client);
      this.#track(request);
    } catch (err) {
      if (err instanceof VerificationError && err.code === "noIdentity") {
        this.#fail("security.noIdentity", { user: err.message });
      } else if (err instanceof VerificationError && err.code === "ownIdentityMissing") {
        this.#fail("security.ownIdentityMissing");
      } else {
        this.#fail("security.verification.failed", { message: text(err) });
      }
    }
  }

  /** Verifies another device of the account (it gets the request). */
  startDevice(deviceId: string): Promise<void> {
    return this.#begin(async (client) => {
      const crypto = client.getCrypto();
      if (!crypto) throw new VerificationError("noClient");
      const userId = client.getSafeUserId();
      await crypto.getUserDeviceInfo([userId], true);
      return await crypto.requestDeviceVerification(userId, deviceId);
    });
  }

  /** Verifies this device with any other device of the account. */
  startSelf(): Promise<void> {
    return this.#begin(async (client) => {
      const crypto = client.getCrypto();
      if (!crypto) throw new VerificationError("noClient");
      await crypto.getUserDeviceInfo([client.getSafeUserId()], true);
      return await crypto.requestOwnUserVerification();
    });
  }

  /** Verifies another user, in a direct-message room with them (made when there is none). */
  startUser(userId: string): Promise<void> {
    return this.#begin(async (client) => {
      if (userId === client.getUserId()) return await this.#selfRequest(client);
      const crypto = client.getCrypto();
      if (!crypto) throw new VerificationError("noClient");
      if (!(await crypto.isCrossSigningReady())) throw new VerificationError("ownIdentityMissing");
      if (!(await crypto.userHasCrossSigningKeys(userId, true))) {
        throw new VerificationError("noIdentity", userId);
      }
      const roomId = await directRoom(client, userId);
      return crypto.findVerificationRequestDMInProgress(roomId, userId) ??
        await crypto.requestVerificationDM(userId, roomId);
    });
  }

  async #selfRequest(client: MatrixClient): Promise<VerificationRequest> {
    const crypto = client.getCrypto();
    if (!crypto) throw new VerificationError("noClient");
    return await crypto.requestOwnUserVerification();
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A room with just the user and `userId` joined (a direct chat listed in `m.direct` first);
 * a new direct chat when there is none.
 */
async function directRoom(client: MatrixClient, userId: string): Promise<string> {
  const direct = client.getAccountData("m.direct" as never)?.getContent<Record<string, string[]>>();
  const listed = new Set(direct?.[userId] ?? []);
  const shared = client.getRooms().filter((room) =>
    room.getMyMembership() === "join" &&
    room.getMember(userId)?.membership === "join" &&
    room.getJoinedMemberCount() === 2
  );
  shared.sort((a, b) => Number(listed.has(b.roomId)) - Number(listed.has(a.roomId)));
  if (shared[0]) return shared[0].roomId;
  const sdk = await loadSdk();
  const { room_id: roomId } = await client.createRoom({
    is_direct: true,
    invite: [userId],
    preset: sdk.Preset.TrustedPrivateChat,
  });
  const next = { ...(direct ?? {}), [userId]: [...listed, roomId] };
  await client.setAccountData("m.direct" as never, next as never).catch(() => {});
  return roomId;
}

/** The app's verification model. */
export function verificationModel(app: AppModel): VerificationModel {
  return featureModel(app, "verification", (app) => new VerificationModel(app));
}

/**
 * Starts an emoji verification of `userId` (another user, in a direct chat; the own user, with
 * the account's other devices). The overlay shows its progress.
 */
export function startUserVerification(app: AppModel, userId: string): Promise<void> {
  return verificationModel(app).startUser(userId);
}

/** Verification event types that answer or end a request. */
const FOLLOW_UPS = new Set([
  "m.key.verification.ready",
  "m.key.verification.start",
  "m.key.verification.cancel",
  "m.key.verification.done",
]);

/**
 * Whether the room's loaded timeline holds an answer from this account to the in-room
 * request, or its end (cancel or done) from anyone.
 */
function answeredInRoom(client: MatrixClient | null, request: VerificationRequest): boolean {
  const room = client && request.roomId ? client.getRoom(request.roomId) : null;
  const me = client?.getUserId();
  if (!room || !request.transactionId) return false;
  return room.getLiveTimeline().getEvents().some((event) => {
    const type = event.getType();
    if (!FOLLOW_UPS.has(type)) return false;
    if (event.getRelation()?.event_id !== request.transactionId) return false;
    return event.getSender() === me || type === "m.key.verification.cancel" ||
      type === "m.key.verification.done";
  });
}
