/**
 * Media for the file views: a hook that loads a file (decrypting it when encrypted) into an
 * object URL that lives as long as the component, and the pieces of a file event's content
 * the views read.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import type { MatrixClient } from "matrix-js-sdk";
import type { MessageKey } from "../../i18n/index.ts";
import type { EncryptedFile } from "../../matrix/attachments.ts";
import { loadMedia, type LoadMediaOptions, type MediaSource } from "../../matrix/media.ts";

/** A file's object URL as it loads. */
export interface MediaState {
  url: string | null;
  blob: Blob | null;
  /** Why it failed (a catalogue key), null while loading or when loaded. */
  problem: MessageKey | null;
  loading: boolean;
  /** Loads again after a failure. */
  retry(): void;
}

/** The catalogue key that explains a load failure. */
export function problemKey(err: unknown): MessageKey {
  return (err as { code?: string })?.code === "hash_mismatch"
    ? "files.altered"
    : "files.loadFailed";
}

/**
 * Loads `source` when `enabled` (so videos, audio and full-size images wait for the user) and
 * revokes the object URL when the component goes or the source changes.
 */
export function useMedia(
  client: MatrixClient | null,
  source: MediaSource | null,
  options: LoadMediaOptions & { enabled?: boolean } = {},
): MediaState {
  const [state, setState] = useState<
    { url: string | null; blob: Blob | null; problem: MessageKey | null }
  >(
    { url: null, blob: null, problem: null },
  );
  const [attempt, setAttempt] = useState(0);
  const enabled = options.enabled ?? true;
  const key = source ? `${source.file?.url ?? source.url}` : "";
  const thumb = options.thumbnail ? `${options.thumbnail.width}x${options.thumbnail.height}` : "";
  useEffect(() => {
    if (!client || !source || !enabled) return;
    let live = true;
    let url: string | null = null;
    setState({ url: null, blob: null, problem: null });
    loadMedia(client, source, options).then((blob) => {
      if (!live) return;
      url = URL.createObjectURL(blob);
      setState({ url, blob, problem: null });
    }, (err) => {
      if (!live) return;
      console.warn("gemeng: could not load media", err);
      setState({ url: null, blob: null, problem: problemKey(err) });
    });
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, key, thumb, enabled, attempt, options.mimetype]);
  return {
    ...state,
    loading: enabled && !!source && !state.url && !state.problem,
    retry: () => setAttempt((n) => n + 1),
  };
}

/** The parts of a file message the views use. */
export interface FileContent {
  name: string;
  mimetype?: string;
  size?: number;
  w?: number;
  h?: number;
  durationMs?: number;
  source: MediaSource | null;
  thumbnail: MediaSource | null;
  thumbnailSize?: { w: number; h: number };
  thumbnailMimetype?: string;
}

function number(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function isEncryptedFile(value: unknown): value is EncryptedFile {
  const file = value as EncryptedFile | undefined;
  return typeof file?.url === "string" && typeof file.iv === "string" &&
    typeof file.key?.k === "string" && typeof file.hashes?.sha256 === "string";
}

function sourceOf(url: unknown, file: unknown): MediaSource | null {
  if (isEncryptedFile(file)) return { file };
  if (typeof url === "string" && url.startsWith("mxc://")) return { url };
  return null;
}

/** Reads a file message's content defensively (it comes from other people's clients). */
export function readFileContent(content: Record<string, unknown>): FileContent {
  const info = (typeof content.info === "object" && content.info ? content.info : {}) as Record<
    string,
    unknown
  >;
  const thumbInfo =
    (typeof info.thumbnail_info === "object" && info.thumbnail_info
      ? info.thumbnail_info
      : {}) as Record<string, unknown>;
  const filename = typeof content.filename === "string" && content.filename
    ? content.filename
    : typeof content.body === "string"
    ? content.body
    : "";
  const audio = content["org.matrix.msc1767.audio"] as { duration?: unknown } | undefined;
  const tw = number(thumbInfo.w);
  const th = number(thumbInfo.h);
  return {
    name: filename,
    mimetype: typeof info.mimetype === "string" ? info.mimetype : undefined,
    size: number(info.size),
    w: number(info.w),
    h: number(info.h),
    durationMs: number(audio?.duration) ?? number(info.duration),
    source: sourceOf(content.url, content.file),
    thumbnail: sourceOf(info.thumbnail_url, info.thumbnail_file),
    thumbnailSize: tw && th ? { w: tw, h: th } : undefined,
    thumbnailMimetype: typeof thumbInfo.mimetype === "string" ? thumbInfo.mimetype : undefined,
  };
}

/** "m:ss" (or "h:mm:ss") of a duration. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total / 60) % 60;
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
