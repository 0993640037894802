/**
 * One-to-one voice and video calls (spec: "Voice over IP"), on matrix-js-sdk's WebRTC calls:
 * placing a call in a room of two, ringing for incoming ones, answering, declining, muting the
 * microphone, turning the camera off, hanging up, and what the last call came to.
 *
 * The SDK does the signalling (`m.call.*` room events) and the peer connection; its call event
 * handler starts by itself after the first sync in a browser, and `startClient` fetches the
 * TURN servers from `/voip/turnServer`. This model turns a call's events into signals.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixCall, MatrixClient, Room } from "matrix-js-sdk";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";

/** Where the current call is. */
export type CallPhase = "ringing" | "calling" | "connecting" | "connected";

/** The call on screen. */
export interface CallInfo {
  roomId: string;
  /** The other person's display name (or user ID). */
  peerName: string;
  direction: "inbound" | "outbound";
  /** Placed as (or offered with) video. */
  video: boolean;
  phase: CallPhase;
}

/** How the last call ended, when that is worth telling. */
export interface CallOutcome {
  kind: "ended" | "declined" | "noAnswer" | "busy" | "missed" | "failed" | "noMedia";
  peerName: string;
  /** Seconds connected (`ended` only). */
  seconds?: number;
}

/** The SDK's `Call.incoming` (CallEventHandlerEvent.Incoming, not exported by the SDK). */
const INCOMING = "Call.incoming";
/** How long an outcome stays on screen. */
const OUTCOME_MS = 8000;

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The other joined member of a room of two, if it is one. */
export function callPeer(room: Room, myUserId: string | null): string | null {
  if (room.getMyMembership() !== "join" || room.getJoinedMemberCount() !== 2) return null;
  const other = room.getJoinedMembers().find((member) => member.userId !== myUserId);
  if (other) return other.userId;
  // Members not loaded yet (lazy loading): the sync summary's heroes name the other one.
  const guess = room.guessDMUserId();
  return guess !== myUserId ? guess : null;
}

function phaseOf(call: MatrixCall): CallPhase {
  const state = call.state as string;
  if (state === "ringing") return "ringing";
  if (state === "connected") return "connected";
  if (state === "connecting" || state === "create_answer") return "connecting";
  return call.direction === ("inbound" as string) ? "connecting" : "calling";
}

/** A ringtone from WebAudio: two short tones every two seconds (no sound files). */
class Ringtone {
  #context: AudioContext | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  start(): void {
    if (this.#timer !== undefined) return;
    try {
      this.#context ??= new AudioContext();
      void this.#context.resume().catch(() => {});
    } catch {
      return; // no audio output: ringing stays visual
    }
    const ring = () => {
      const context = this.#context;
      if (!context || context.state !== "running") return;
      for (const [offset, frequency] of [[0, 440], [0.5, 480]] as const) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.frequency.value = frequency;
        gain.gain.value = 0.08;
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(context.currentTime + offset);
        oscillator.stop(context.currentTime + offset + 0.35);
      }
    };
    ring();
    this.#timer = setInterval(ring, 2000);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The calls model. */
export class CallsModel {
  readonly #info = signal<CallInfo | null>(null);
  readonly #micMuted = signal(false);
  readonly #cameraOff = signal(false);
  readonly #localStream = signal<MediaStream | null>(null);
  readonly #remoteStream = signal<MediaStream | null>(null);
  readonly #remoteVideoMuted = signal(false);
  readonly #connectedAt = signal<number | null>(null);
  readonly #now = signal(Date.now());
  readonly #outcome = signal<CallOutcome | null>(null);
  readonly #feeds = signal(0);
  readonly #ringtone = new Ringtone();
  #call: MatrixCall | null = null;
  #client: MatrixClient | null = null;
  #sdk: Sdk | null = null;
  #unfollow: (() => void) | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #outcomeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Remote feeds whose mute changes are followed. */
  #followedFeeds = new WeakSet<object>();

  /** The current call, or null. */
  readonly current: ReadonlySignal<CallInfo | null> = computed(() => this.#info.value);
  readonly micMuted: ReadonlySignal<boolean> = computed(() => this.#micMuted.value);
  readonly cameraOff: ReadonlySignal<boolean> = computed(() => this.#cameraOff.value);
  /** This device's camera and microphone in the call. */
  readonly localStream: ReadonlySignal<MediaStream | null> = computed(() =>
    this.#localStream.value
  );
  /** The other side's camera and microphone. */
  readonly remoteStream: ReadonlySignal<MediaStream | null> = computed(() =>
    this.#remoteStream.value
  );
  /** The other side turned its camera off (or sends no video). */
  readonly remoteVideoMuted: ReadonlySignal<boolean> = computed(() => this.#remoteVideoMuted.value);
  /** Seconds since the call connected, ticking each second. */
  readonly seconds: ReadonlySignal<number> = computed(() => {
    const since = this.#connectedAt.value;
    return since === null ? 0 : Math.max(0, (this.#now.value - since) / 1000);
  });
  /** Counts changes of the call's feeds, so views of them (screen sharing) follow them. */
  readonly feeds: ReadonlySignal<number> = computed(() => this.#feeds.value);
  /** How the last call ended, shown for a few seconds. */
  readonly outcome: ReadonlySignal<CallOutcome | null> = computed(() => this.#outcome.value);

  constructor(app: AppModel) {
    effect(() => {
      const client = app.session.clientReady.value;
      if (client) this.#attach(client);
      else this.#detach();
    });
  }

  /** The SDK's call on screen (screen sharing works on it: views/calls/screen_share.tsx). */
  get call(): MatrixCall | null {
    return this.#call;
  }

  /** Whether `room` can have a call now: two joined members, calls supported, none going. */
  canCall(room: Room): boolean {
    const client = this.#client;
    if (!client?.supportsVoip()) return false;
    return callPeer(room, client.getUserId()) !== null;
  }

  /** Places a voice or video call to the other member of `room`. */
  async place(room: Room, options: { video: boolean }): Promise<void> {
    const client = this.#client;
    if (!client || this.#call) return;
    const sdk = this.#sdk ?? await loadSdk();
    await room.loadMembersIfNeeded().catch(() => {});
    const peer = callPeer(room, client.getUserId());
    if (!peer || this.#call) return;
    const call = sdk.createNewMatrixCall(client, room.roomId, { invitee: peer });
    if (!call) return;
    this.#follow(sdk, call, {
      video: options.video,
      peerName: room.getMember(peer)?.name ?? peer,
    });
    try {
      await (options.video ? call.placeVideoCall() : call.placeVoiceCall());
    } catch (err) {
      // The SDK ends the call itself on failures; the outcome says what happened.
      console.warn("gemeng: the call could not be placed", err);
    }
  }

  /** Answers the ringing call, with the camera on or off. */
  async accept(options: { video: boolean }): Promise<void> {
    const call = this.#call;
    if (!call || (call.state as string) !== "ringing") return;
    this.#ringtone.stop();
    try {
      await call.answer(true, options.video);
    } catch (err) {
      console.warn("gemeng: the call could not be answered", err);
    }
  }

  /** Declines the ringing call. */
  decline(): void {
    const call = this.#call;
    if (!call || (call.state as string) !== "ringing") return;
    call.reject();
  }

  /** Ends the call (or stops calling). */
  hangUp(): void {
    this.#call?.hangup("user_hangup" as Parameters<MatrixCall["hangup"]>[0], false);
  }

  /** Mutes or unmutes the microphone. */
  async toggleMicrophone(): Promise<void> {
    const call = this.#call;
    if (!call) return;
    try {
      this.#micMuted.value = await call.setMicrophoneMuted(!call.isMicrophoneMuted());
    } catch (err) {
      console.warn("gemeng: the microphone could not be switched", err);
    }
  }

  /** Turns the camera off or on. */
  async toggleCamera(): Promise<void> {
    const call = this.#call;
    if (!call) return;
    try {
      this.#cameraOff.value = await call.setLocalVideoMuted(!call.isLocalVideoMuted());
    } catch (err) {
      console.warn("gemeng: the camera could not be switched", err);
    }
    if (this.#sdk && this.#call === call) this.#updateFeeds(this.#sdk, call);
  }

  /** Hides the last call's outcome. */
  dismissOutcome(): void {
    clearTimeout(this.#outcomeTimer);
    this.#outcome.value = null;
  }

  #attach(client: MatrixClient): void {
    if (this.#client === client) return;
    this.#detach();
    this.#client = client;
    const onIncoming = (call: MatrixCall) => {
      const sdk = this.#sdk;
      if (this.#client !== client || !sdk) return;
      if (this.#call) {
        // One call at a time: the other side hears that we are busy.
        call.hangup("user_busy" as Parameters<MatrixCall["hangup"]>[0], false);
        return;
      }
      const peer = call.getOpponentMember();
      // The offer says whether video was offered before any track arrives.
      const video = (call.type as string) === "video" ||
        /m=video/.test(call.peerConn?.remoteDescription?.sdp ?? "");
      this.#follow(sdk, call, { video, peerName: peer?.name ?? peer?.userId ?? "" });
    };
    const emitter = client as unknown as {
      on(event: string, listener: (call: MatrixCall) => void): void;
      off(event: string, listener: (call: MatrixCall) => void): void;
    };
    emitter.on(INCOMING, onIncoming);
    this.#unfollow = () => emitter.off(INCOMING, onIncoming);
    // The client exists, so the SDK has loaded: this settles at once.
    void loadSdk().then((sdk) => this.#sdk = sdk).catch(() => {});
  }

  #detach(): void {
    this.#unfollow?.();
    this.#unfollow = null;
    this.#call?.hangup("user_hangup" as Parameters<MatrixCall["hangup"]>[0], false);
    this.#client = null;
    this.#clear();
    this.dismissOutcome();
  }

  #follow(sdk: Sdk, call: MatrixCall, options: { video: boolean; peerName: string }): void {
    this.#call = call;
    this.dismissOutcome();
    const info = (): CallInfo => ({
      roomId: call.roomId,
      peerName: options.peerName,
      direction: call.direction === ("inbound" as string) ? "inbound" : "outbound",
      video: options.video,
      phase: phaseOf(call),
    });
    this.#info.value = info();
    let connected = false;
    const onState = () => {
      if (this.#call !== call) return;
      if ((call.state as string) === "ended") {
        this.#ended(call, options.peerName, connected);
        return;
      }
      const next = info();
      if (next.phase === "ringing") this.#ringtone.start();
      else this.#ringtone.stop();
      if (next.phase === "connected" && !connected) {
        connected = true;
        this.#connectedAt.value = Date.now();
        this.#now.value = Date.now();
        this.#ticker = setInterval(() => this.#now.value = Date.now(), 1000);
      }
      this.#info.value = next;
    };
    call.on(sdk.CallEvent.State, onState);
    call.on(sdk.CallEvent.FeedsChanged, () => {
      if (this.#call === call) this.#updateFeeds(sdk, call);
    });
    call.on(sdk.CallEvent.Replaced, (newCall) => {
      // Both sides called at once (glare): the SDK keeps one call and hands it over.
      if (this.#call === call) this.#follow(sdk, newCall, options);
    });
    onState();
  }

  #updateFeeds(sdk: Sdk, call: MatrixCall): void {
    this.#localStream.value = call.localUsermediaStream ?? null;
    this.#remoteStream.value = call.remoteUsermediaStream ?? null;
    const remote = call.remoteUsermediaFeed;
    this.#remoteVideoMuted.value = !remote || remote.isVideoMuted() ||
      !remote.stream.getVideoTracks().length;
    for (const feed of call.getRemoteFeeds()) {
      // Mute changes come as the other side's metadata updates, feed by feed.
      if (this.#followedFeeds.has(feed)) continue;
      this.#followedFeeds.add(feed);
      feed.on(sdk.CallFeedEvent.MuteStateChanged, () => {
        if (this.#call === call) this.#updateFeeds(sdk, call);
      });
    }
    this.#micMuted.value = call.isMicrophoneMuted();
    this.#cameraOff.value = call.isLocalVideoMuted();
    this.#feeds.value++;
  }

  #ended(call: MatrixCall, peerName: string, connected: boolean): void {
    const seconds = this.seconds.value;
    const remote = call.hangupParty === ("remote" as string);
    const reason = call.hangupReason ?? "user_hangup";
    const inbound = call.direction === ("inbound" as string);
    let kind: CallOutcome["kind"] | null = null;
    if (connected) kind = "ended";
    // Another of our devices took the call, or glare replaced it: nothing to tell.
    else if (reason === "answered_elsewhere" || reason === "replaced") kind = null;
    else if (reason === "no_user_media") kind = "noMedia";
    else if (reason === "invite_timeout") kind = inbound ? "missed" : "noAnswer";
    else if (reason === "user_busy") kind = "busy";
    else if (remote && inbound) kind = "missed";
    else if (remote && reason === "user_hangup") kind = "declined";
    // Our own hang-up or refusal needs no notice; anything else local is a failure.
    else if (remote || reason !== "user_hangup") kind = "failed";
    this.#clear();
    if (kind) {
      this.#outcome.value = { kind, peerName, seconds: kind === "ended" ? seconds : undefined };
      this.#outcomeTimer = setTimeout(() => this.#outcome.value = null, OUTCOME_MS);
    }
  }

  #clear(): void {
    this.#ringtone.stop();
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#call = null;
    this.#info.value = null;
    this.#micMuted.value = false;
    this.#cameraOff.value = false;
    this.#localStream.value = null;
    this.#remoteStream.value = null;
    this.#remoteVideoMuted.value = false;
    this.#connectedAt.value = null;
  }
}

/** The app's calls model. */
export function callsModel(app: AppModel): CallsModel {
  return featureModel(app, "calls", (app) => new CallsModel(app));
}
