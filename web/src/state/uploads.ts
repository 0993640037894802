/**
 * Sending files and voice messages: each file is described (type, size, pixels, duration,
 * thumbnail), encrypted in rooms that have `m.room.encryption`, uploaded with progress and a
 * cancel that aborts the HTTP upload, then sent as one `m.room.message`. Files picked, dropped or
 * pasted first wait in a preview (`preview`) where the user may add a caption, send or cancel;
 * several files then go one after another, so they arrive in the order chosen. Pending uploads
 * are signals the composer shows; once the message is handed to the SDK its local echo takes
 * over in the timeline.
 *
 * @module
 */

import { formatBytes } from "../i18n/format.ts";
import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient, Room } from "matrix-js-sdk";
import type { MessageKey, MessageParams } from "../i18n/index.ts";
import { encryptAttachment, type EncryptedFile } from "../matrix/attachments.ts";
import { type DescribedFile, describeFile } from "../matrix/file_info.ts";
import type { VoiceRecorder, VoiceRecording } from "../matrix/voice_recorder.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";

type RecorderModule = typeof import("../matrix/voice_recorder.ts");
let recorderLoad: Promise<RecorderModule> | null = null;

/** The voice recorder's module, loaded when the user first records (not with the first screen). */
function loadRecorder(): Promise<RecorderModule> {
  recorderLoad ??= import("../matrix/voice_recorder.ts").catch((err) => {
    recorderLoad = null;
    throw err;
  });
  return recorderLoad;
}

/** Where an upload is. */
export type UploadStage = "preparing" | "encrypting" | "uploading" | "sending" | "failed";

/** A message for the user, from the catalogue. */
export interface Problem {
  key: MessageKey;
  params?: MessageParams;
}

type Payload = { kind: "file"; file: File } | { kind: "voice"; recording: VoiceRecording };

let nextId = 1;

/** Files waiting in the preview dialog of a room. */
export interface FilePreview {
  roomId: string;
  files: readonly File[];
}

/** At most this many files are taken from one pick, drop or paste. */
export const MAX_PREVIEW_FILES = 20;
/** A caption is at most this long (characters). */
export const MAX_CAPTION_LENGTH = 4000;

/** One file on its way into a room. */
export class PendingUpload {
  readonly id = `upload-${nextId++}`;
  readonly roomId: string;
  readonly name: string;
  readonly size: number;
  readonly payload: Payload;
  readonly #stage = signal<UploadStage>("preparing");
  readonly #progress = signal(0);
  readonly #problem = signal<Problem | null>(null);
  /** Where it is. */
  readonly stage: ReadonlySignal<UploadStage> = computed(() => this.#stage.value);
  /** How much of the file is uploaded, 0 to 1. */
  readonly progress: ReadonlySignal<number> = computed(() => this.#progress.value);
  /** Why it failed. */
  readonly problem: ReadonlySignal<Problem | null> = computed(() => this.#problem.value);
  /** The message content, once the upload is done (a retry then only sends). */
  content: Record<string, unknown> | null = null;
  abort: AbortController | null = null;
  /** The text sent with the file (the event's `body`, the name then in `filename`). */
  readonly caption: string;

  constructor(roomId: string, name: string, payload: Payload, caption = "") {
    this.roomId = roomId;
    this.name = name;
    this.payload = payload;
    this.caption = caption;
    this.size = payload.kind === "file" ? payload.file.size : payload.recording.blob.size;
  }

  /** Moves to a stage (clearing any problem). */
  set(stage: UploadStage, progress?: number): void {
    this.#stage.value = stage;
    this.#problem.value = null;
    if (progress !== undefined) this.#progress.value = progress;
  }

  /** Records the upload's progress. */
  setProgress(value: number): void {
    this.#progress.value = Math.max(0, Math.min(1, value));
  }

  /** Marks the upload failed. */
  fail(problem: Problem): void {
    this.#stage.value = "failed";
    this.#problem.value = problem;
  }
}

/** The voice recorder as the composer shows it. */
export interface RecordingState {
  roomId: string;
  phase: "starting" | "recording" | "finishing";
}

/** Why an upload stopped on purpose. */
class Cancelled extends Error {
  readonly code = "cancelled";
}

/** Pending uploads and the voice recorder of the app. */
export class UploadsModel {
  readonly #app: AppModel;
  readonly #items = signal<readonly PendingUpload[]>([]);
  readonly #recording = signal<RecordingState | null>(null);
  readonly #elapsed = signal(0);
  readonly #voiceProblem = signal<(Problem & { roomId: string }) | null>(null);
  readonly #preview = signal<FilePreview | null>(null);
  #recorder: VoiceRecorder | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  readonly #limits = new WeakMap<MatrixClient, Promise<number | null>>();

  /** Uploads in progress or failed, in every room. */
  readonly items: ReadonlySignal<readonly PendingUpload[]> = computed(() => this.#items.value);
  /** The recording under way, if any. */
  readonly recording: ReadonlySignal<RecordingState | null> = computed(() => this.#recording.value);
  /** Milliseconds recorded so far. */
  readonly elapsedMs: ReadonlySignal<number> = computed(() => this.#elapsed.value);
  /** Why the last recording could not start or finish. */
  readonly voiceProblem: ReadonlySignal<(Problem & { roomId: string }) | null> = computed(() =>
    this.#voiceProblem.value
  );

  /** Files chosen but not sent yet, shown in the preview dialog. */
  readonly preview: ReadonlySignal<FilePreview | null> = computed(() => this.#preview.value);

  constructor(app: AppModel) {
    this.#app = app;
  }

  /** Shows the files in the preview dialog of the room (replacing any earlier choice). */
  propose(room: Room, files: readonly File[]): void {
    if (!files.length) return;
    this.#preview.value = { roomId: room.roomId, files: files.slice(0, MAX_PREVIEW_FILES) };
  }

  /** Closes the preview; nothing is sent. */
  closePreview(): void {
    this.#preview.value = null;
  }

  /** Sends the previewed files, the caption going with the first one. */
  sendPreview(caption: string): void {
    const preview = this.#preview.value;
    this.#preview.value = null;
    const room = preview && this.#app.session.client?.getRoom(preview.roomId);
    if (!preview || !room) return;
    this.send(room, preview.files, { caption });
  }

  /** The uploads of one room. */
  inRoom(roomId: string): PendingUpload[] {
    return this.#items.value.filter((item) => item.roomId === roomId);
  }

  /**
   * Sends each file as its own message, one after another; a caption (trimmed, capped) goes
   * with the first file only.
   */
  send(room: Room, files: readonly File[], options: { caption?: string } = {}): void {
    const caption = (options.caption ?? "").trim().slice(0, MAX_CAPTION_LENGTH);
    const uploads = files.map((file, index) =>
      new PendingUpload(
        room.roomId,
        file.name || "file",
        { kind: "file", file },
        index === 0 ? caption : "",
      )
    );
    for (const upload of uploads) this.#add(upload);
    void this.#runInTurn(uploads);
  }

  async #runInTurn(uploads: readonly PendingUpload[]): Promise<void> {
    for (const upload of uploads) {
      // One cancelled while waiting its turn is skipped.
      if (this.#items.value.includes(upload)) await this.#run(upload);
    }
  }

  /** Stops an upload; nothing is sent. */
  cancel(upload: PendingUpload): void {
    upload.abort?.abort(new Cancelled("cancelled"));
    this.#remove(upload);
  }

  /** Tries a failed upload again (only the sending, when the file is already uploaded). */
  retry(upload: PendingUpload): void {
    if (upload.stage.value !== "failed") return;
    if (!this.#items.value.includes(upload)) this.#add(upload);
    void this.#run(upload);
  }

  /** Forgets a failed upload. */
  dismiss(upload: PendingUpload): void {
    this.#remove(upload);
  }

  /** Starts recording a voice message for the room. */
  async startRecording(room: Room): Promise<void> {
    if (this.#recording.value) return;
    this.#voiceProblem.value = null;
    const starting: RecordingState = { roomId: room.roomId, phase: "starting" };
    this.#recording.value = starting;
    this.#elapsed.value = 0;
    let recorder: VoiceRecorder;
    try {
      const { VoiceRecorder } = await loadRecorder();
      if (this.#recording.value !== starting) return; // cancelled while it loaded
      recorder = new VoiceRecorder({ onLimit: () => void this.finishRecording() });
      this.#recorder = recorder;
      await recorder.start();
    } catch (err) {
      this.#recorder = null;
      this.#recording.value = null;
      const code = (err as { code?: string }).code;
      this.#voiceProblem.value = {
        roomId: room.roomId,
        key: code === "denied"
          ? "files.voice.denied"
          : code === "unsupported"
          ? "files.voice.unsupported"
          : "files.voice.failed",
      };
      return;
    }
    if (this.#recorder !== recorder) return; // cancelled while the microphone was opening
    this.#recording.value = { roomId: room.roomId, phase: "recording" };
    this.#ticker = setInterval(() => this.#elapsed.value = recorder.elapsedMs, 250);
  }

  /** Stops the recording and sends it. */
  async finishRecording(): Promise<void> {
    const recorder = this.#recorder;
    const state = this.#recording.value;
    if (!recorder || state?.phase !== "recording") return;
    this.#recording.value = { ...state, phase: "finishing" };
    clearInterval(this.#ticker);
    let recording: VoiceRecording;
    try {
      recording = await recorder.stop();
    } catch {
      this.#voiceProblem.value = { roomId: state.roomId, key: "files.voice.failed" };
      return;
    } finally {
      this.#recorder = null;
      this.#recording.value = null;
    }
    const { voiceExtension } = await loadRecorder(); // loaded: it recorded
    const name = `${this.#app.i18n.t("files.voice.body")}.${voiceExtension(recording.mimetype)}`;
    const upload = new PendingUpload(state.roomId, name, { kind: "voice", recording });
    this.#add(upload);
    void this.#run(upload);
  }

  /** Throws the recording away. */
  cancelRecording(): void {
    clearInterval(this.#ticker);
    this.#recorder?.cancel();
    this.#recorder = null;
    this.#recording.value = null;
  }

  #add(upload: PendingUpload): void {
    this.#items.value = [...this.#items.value, upload];
  }

  #remove(upload: PendingUpload): void {
    this.#items.value = this.#items.value.filter((item) => item !== upload);
  }

  async #run(upload: PendingUpload): Promise<void> {
    const client = this.#app.session.client;
    const room = client?.getRoom(upload.roomId);
    if (!client || !room) {
      upload.fail({ key: "files.upload.failed", params: { name: upload.name } });
      return;
    }
    const abort = new AbortController();
    upload.abort = abort;
    try {
      upload.content ??= await this.#upload(client, room, upload, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) return; // cancelled: nothing is sent
      console.warn("gemeng: upload failed", err);
      upload.fail(problemOf(err, upload.name));
      return;
    }
    if (abort.signal.aborted) return;
    upload.abort = null;
    // From here the SDK's local echo shows the message; the upload comes back only if the
    // send fails (with its content, so a retry does not upload again).
    upload.set("sending");
    this.#remove(upload);
    const txnId = client.makeTxnId();
    try {
      // deno-lint-ignore no-explicit-any
      await client.sendMessage(room.roomId, upload.content as any, txnId);
    } catch (err) {
      console.warn("gemeng: sending the file message failed", err);
      const echo = room.getLiveTimeline().getEvents().find((e) => e.getTxnId() === txnId);
      if (echo) client.cancelPendingEvent(echo);
      upload.fail(problemOf(err, upload.name));
      this.#add(upload);
    }
  }

  async #upload(
    client: MatrixClient,
    room: Room,
    upload: PendingUpload,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    upload.set("preparing", 0);
    const limit = await this.#uploadLimit(client);
    if (limit !== null && upload.size > limit) {
      throw new UploadProblem({
        key: "files.upload.tooLarge",
        params: { name: upload.name, limit: formatBytes(this.#app.i18n.locale.value, limit) },
      });
    }
    const encrypted = room.hasEncryptionStateEvent();
    const put = (blob: Blob, options: PutOptions) =>
      putFile(client, blob, { ...options, encrypted, signal, upload });

    if (upload.payload.kind === "voice") {
      const { recording } = upload.payload;
      const where = await put(recording.blob, {
        name: upload.name,
        mimetype: recording.mimetype,
        tracked: true,
      });
      const { voiceMessageContent } = await loadRecorder();
      return voiceMessageContent(recording, {
        ...where,
        body: this.#app.i18n.t("files.voice.body"),
        size: recording.blob.size,
      });
    }

    const { file } = upload.payload;
    const described: DescribedFile = await describeFile(file);
    if (signal.aborted) throw new Cancelled("cancelled");
    const info: Record<string, unknown> = { ...described.info };
    if (described.thumbnail) {
      const thumb = await put(described.thumbnail, {
        name: `thumbnail-${upload.name}`,
        mimetype: described.thumbnail.type,
        tracked: false,
      });
      if (thumb.file) info.thumbnail_file = thumb.file;
      else info.thumbnail_url = thumb.url;
    }
    const where = await put(file, {
      name: upload.name,
      mimetype: described.info.mimetype,
      tracked: true,
    });
    // A caption is the body, the file's name then in `filename` (media captions, v1.10).
    return {
      msgtype: described.msgtype,
      body: upload.caption || upload.name,
      filename: upload.name,
      info,
      ...where,
    };
  }

  /** The server's largest upload (`m.upload.size`), asked once per client. */
  #uploadLimit(client: MatrixClient): Promise<number | null> {
    let limit = this.#limits.get(client);
    if (!limit) {
      limit = client.getMediaConfig(true).then(
        (config) => typeof config["m.upload.size"] === "number" ? config["m.upload.size"] : null,
        () => null,
      );
      this.#limits.set(client, limit);
    }
    return limit;
  }
}

/** A failure with a message ready for the user. */
class UploadProblem extends Error {
  readonly code = "upload_problem";
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.key);
    this.problem = problem;
  }
}

function problemOf(err: unknown, name: string): Problem {
  if (err instanceof UploadProblem) return err.problem;
  const e = err as { name?: string; errcode?: string; httpStatus?: number };
  if (e?.errcode === "M_TOO_LARGE" || e?.httpStatus === 413) {
    return { key: "files.upload.failed", params: { name } };
  }
  if (e?.name === "ConnectionError" || (typeof navigator !== "undefined" && !navigator.onLine)) {
    return { key: "files.upload.offline", params: { name } };
  }
  return { key: "files.upload.failed", params: { name } };
}

interface PutOptions {
  name: string;
  mimetype: string;
  /** Whether this upload drives the progress bar (the main file does, a thumbnail not). */
  tracked: boolean;
}

/**
 * Uploads one blob: in encrypted rooms the ciphertext, as `application/octet-stream` and
 * without its name, returning the `EncryptedFile`; otherwise the file itself and its `mxc://`.
 */
async function putFile(
  client: MatrixClient,
  blob: Blob,
  options: PutOptions & { encrypted: boolean; signal: AbortSignal; upload: PendingUpload },
): Promise<{ url?: string; file?: EncryptedFile }> {
  const { upload, signal } = options;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal.addEventListener("abort", onAbort);
  try {
    if (signal.aborted) throw new Cancelled("cancelled");
    let body: Blob = blob;
    let encryptedInfo: Omit<EncryptedFile, "url"> | null = null;
    if (options.encrypted) {
      if (options.tracked) upload.set("encrypting", 0);
      const encrypted = await encryptAttachment(await blob.arrayBuffer());
      if (signal.aborted) throw new Cancelled("cancelled");
      body = new Blob([encrypted.ciphertext], { type: "application/octet-stream" });
      encryptedInfo = encrypted.info;
    }
    if (options.tracked) upload.set("uploading", 0);
    const response = await client.uploadContent(body, {
      name: options.name,
      type: encryptedInfo ? "application/octet-stream" : options.mimetype,
      includeFilename: !encryptedInfo,
      abortController: controller,
      progressHandler: options.tracked
        ? ({ loaded, total }) => upload.setProgress(total ? loaded / total : 0)
        : undefined,
    });
    if (options.tracked) upload.setProgress(1);
    const url = response.content_uri;
    return encryptedInfo ? { file: { ...encryptedInfo, url } } : { url };
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A byte count in the user's language (kept here for the modules that import it). */
export { formatBytes };

/** The app's uploads model. */
export function uploadsModel(app: AppModel): UploadsModel {
  return featureModel(app, "uploads", (a) => new UploadsModel(a));
}

/**
 * Offers the files (picked, dropped or pasted) for the room in the preview dialog; from there
 * they are sent one message each.
 */
export function sendFiles(app: AppModel, room: Room, files: readonly File[]): void {
  uploadsModel(app).propose(room, files);
}
