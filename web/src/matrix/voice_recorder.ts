/**
 * Recording voice messages: MediaRecorder (Opus), the waveform of a recording (Web Audio
 * decode, then a fixed number of loudness buckets), and the `m.audio` content Element sends
 * and understands (MSC3245 voice marker, MSC1767 audio with duration and waveform). Its own
 * chunk, loaded when the user first records (state/uploads.ts); voice.ts reads received ones.
 *
 * @module
 */

import type { EncryptedFile } from "./attachments.ts";

/** The longest voice message (the recorder stops itself here). */
export const MAX_VOICE_MS = 5 * 60 * 1000;
/** Bars in a waveform. */
export const WAVEFORM_SAMPLES = 100;
/**
 * Largest waveform value (MSC3246 sends integers 0..1024). The same as voice.ts's: not imported
 * from there, which would move voice.ts out of the first screen's chunk.
 */
export const WAVEFORM_MAX = 1024;

/** Recorder formats, best first: Ogg Opus is what Element records; WebM Opus otherwise. */
const RECORDER_TYPES = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"];

/** Why recording failed. */
export type VoiceErrorCode = "unsupported" | "denied" | "failed";

/** A recording that could not start or finish. */
export class VoiceError extends Error {
  readonly code: VoiceErrorCode;
  constructor(code: VoiceErrorCode, message: string) {
    super(message);
    this.name = "VoiceError";
    this.code = code;
  }
}

/** A finished recording. */
export interface VoiceRecording {
  blob: Blob;
  /** The container and codec, e.g. `audio/ogg;codecs=opus`. */
  mimetype: string;
  durationMs: number;
  /** {@link WAVEFORM_SAMPLES} integers from 0 to {@link WAVEFORM_MAX}. */
  waveform: number[];
}

/** The recorder format this browser supports, or null when it cannot record Opus. */
export function pickRecorderType(
  isTypeSupported: (type: string) => boolean = (t) =>
    typeof MediaRecorder !== "undefined" && MediaRecorder.isTypeSupported(t),
): string | null {
  return RECORDER_TYPES.find((type) => isTypeSupported(type)) ?? null;
}

/** Whether this browser can record voice messages at all. */
export function canRecordVoice(): boolean {
  return typeof MediaRecorder !== "undefined" && !!navigator.mediaDevices?.getUserMedia &&
    pickRecorderType() !== null;
}

/**
 * Loudness of `samples` in `count` buckets: the RMS of each, scaled so the loudest bucket is
 * {@link WAVEFORM_MAX} (silence stays all zeros).
 */
export function waveformOf(samples: Float32Array, count = WAVEFORM_SAMPLES): number[] {
  const rms: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor(i * samples.length / count);
    const end = Math.max(start + 1, Math.floor((i + 1) * samples.length / count));
    let sum = 0;
    let n = 0;
    for (let j = start; j < end && j < samples.length; j++, n++) sum += samples[j] * samples[j];
    rms.push(n ? Math.sqrt(sum / n) : 0);
  }
  const peak = Math.max(...rms);
  if (!(peak > 0)) return rms.map(() => 0);
  return rms.map((v) => Math.min(WAVEFORM_MAX, Math.round(v / peak * WAVEFORM_MAX)));
}

/** Reads the waveform and exact duration of a recording by decoding it. */
export async function analyseRecording(
  blob: Blob,
): Promise<{ durationMs: number; waveform: number[] }> {
  const context = new AudioContext();
  try {
    const audio = await context.decodeAudioData(await blob.arrayBuffer());
    const mixed = new Float32Array(audio.length);
    for (let c = 0; c < audio.numberOfChannels; c++) {
      const channel = audio.getChannelData(c);
      for (let i = 0; i < channel.length; i++) mixed[i] += channel[i] / audio.numberOfChannels;
    }
    return { durationMs: Math.round(audio.duration * 1000), waveform: waveformOf(mixed) };
  } finally {
    void context.close();
  }
}

/** Options of {@link VoiceRecorder}. */
export interface VoiceRecorderOptions {
  /** Called when the recording reached {@link MAX_VOICE_MS} and stopped itself. */
  onLimit?: () => void;
}

/** One recording from the microphone: {@link start}, then {@link stop} or {@link cancel}. */
export class VoiceRecorder {
  #recorder: MediaRecorder | null = null;
  #stream: MediaStream | null = null;
  #chunks: Blob[] = [];
  #startedAt = 0;
  #stoppedAt = 0;
  #limitTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped: Promise<void> | null = null;
  readonly #options: VoiceRecorderOptions;

  constructor(options: VoiceRecorderOptions = {}) {
    this.#options = options;
  }

  /** Asks for the microphone and starts recording. */
  async start(): Promise<void> {
    const type = pickRecorderType();
    if (!type || !navigator.mediaDevices?.getUserMedia) {
      throw new VoiceError("unsupported", "This browser cannot record Opus audio");
    }
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      const denied = err instanceof DOMException &&
        (err.name === "NotAllowedError" || err.name === "SecurityError");
      throw new VoiceError(denied ? "denied" : "failed", String(err));
    }
    const recorder = new MediaRecorder(this.#stream, { mimeType: type });
    this.#recorder = recorder;
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size > 0) this.#chunks.push(event.data);
    });
    this.#stopped = new Promise((resolve) => {
      recorder.addEventListener("stop", () => resolve(), { once: true });
    });
    recorder.start(1000);
    this.#startedAt = performance.now();
    this.#limitTimer = setTimeout(() => this.#options.onLimit?.(), MAX_VOICE_MS);
  }

  /** Milliseconds recorded so far. */
  get elapsedMs(): number {
    if (!this.#startedAt) return 0;
    return (this.#stoppedAt || performance.now()) - this.#startedAt;
  }

  /** Stops and returns the recording with its waveform. */
  async stop(): Promise<VoiceRecording> {
    const recorder = this.#recorder;
    if (!recorder) throw new VoiceError("failed", "Not recording");
    if (recorder.state !== "inactive") recorder.stop();
    this.#stoppedAt ||= performance.now();
    await this.#stopped;
    this.#release();
    const mimetype = recorder.mimeType || pickRecorderType() || "audio/webm";
    const blob = new Blob(this.#chunks, { type: mimetype });
    if (blob.size === 0) throw new VoiceError("failed", "Nothing was recorded");
    let analysed: { durationMs: number; waveform: number[] };
    try {
      analysed = await analyseRecording(blob);
    } catch {
      // Not decodable here (rare): the clock's duration and a flat waveform still make a
      // playable message.
      analysed = {
        durationMs: Math.round(this.elapsedMs),
        waveform: new Array(WAVEFORM_SAMPLES).fill(0),
      };
    }
    return { blob, mimetype, ...analysed };
  }

  /** Stops and throws the recording away. */
  cancel(): void {
    if (this.#recorder && this.#recorder.state !== "inactive") this.#recorder.stop();
    this.#chunks = [];
    this.#release();
  }

  #release(): void {
    clearTimeout(this.#limitTimer);
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }
}

/** The file name extension for a recording's container. */
export function voiceExtension(mimetype: string): string {
  return mimetype.startsWith("audio/ogg")
    ? "ogg"
    : mimetype.startsWith("audio/mp4")
    ? "m4a"
    : "webm";
}

/** Options of {@link voiceMessageContent}. */
export interface VoiceContentOptions {
  /** The plain `mxc://` URL (unencrypted rooms) or the encrypted file. */
  url?: string;
  file?: EncryptedFile;
  /** The text fallback ("Voice message"). */
  body: string;
  size: number;
}

/**
 * The `m.room.message` content of a voice message in the shape Element sends: `m.audio` with
 * `info`, the MSC1767 text, file and audio (duration in ms, waveform 0..1024) and the MSC3245
 * voice marker.
 */
export function voiceMessageContent(
  recording: Pick<VoiceRecording, "mimetype" | "durationMs" | "waveform">,
  options: VoiceContentOptions,
): Record<string, unknown> {
  const { url, file, body, size } = options;
  const mimetype = recording.mimetype;
  const name = `${body}.${voiceExtension(mimetype)}`;
  return {
    msgtype: "m.audio",
    body,
    ...(file ? { file } : { url }),
    info: { mimetype, size, duration: recording.durationMs },
    "org.matrix.msc1767.text": body,
    "org.matrix.msc1767.file": { ...(file ? { file } : { url }), name, mimetype, size },
    "org.matrix.msc1767.audio": { duration: recording.durationMs, waveform: recording.waveform },
    "org.matrix.msc3245.voice": {},
  };
}
