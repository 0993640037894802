/**
 * What to say about a file before sending it: its msgtype and `info` (size, type, pixel size,
 * duration) and, for large images and for videos, a thumbnail made here with a canvas, since
 * the server never sees the pixels of an encrypted file.
 *
 * @module
 */

/** Thumbnails fit in this box (one of the spec's suggested thumbnail sizes). */
export const THUMBNAIL_BOX = { width: 800, height: 600 } as const;

/** Images at most this large are their own preview. */
const NO_THUMBNAIL_BELOW = { width: 800, height: 600 } as const;
/** How long a video or audio file may take to reveal its metadata. */
const PROBE_TIMEOUT_MS = 10_000;

/** The spec's `ThumbnailInfo`. */
export interface ThumbnailInfo {
  mimetype: string;
  size: number;
  w: number;
  h: number;
}

/** The message a file becomes. */
export interface DescribedFile {
  msgtype: "m.image" | "m.video" | "m.audio" | "m.file";
  /** `info` without the thumbnail's location (that comes after its upload). */
  info: {
    mimetype: string;
    size: number;
    w?: number;
    h?: number;
    duration?: number;
    thumbnail_info?: ThumbnailInfo;
  };
  thumbnail?: Blob;
}

/** The size that fits `w`x`h` into `box` without upscaling. */
export function fitInside(
  w: number,
  h: number,
  box: { width: number; height: number },
): { width: number; height: number } {
  const scale = Math.min(1, box.width / w, box.height / h);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** Reads the file's kind, size and media details; makes a thumbnail where it helps. */
export async function describeFile(file: File): Promise<DescribedFile> {
  const mimetype = file.type || "application/octet-stream";
  const base = { mimetype, size: file.size };
  // SVG may carry script and has no fixed pixel size: it is sent as a plain file.
  if (mimetype.startsWith("image/") && mimetype !== "image/svg+xml") {
    const image = await describeImage(file, base).catch(() => null);
    if (image) return image;
  } else if (mimetype.startsWith("video/")) {
    const video = await describeVideo(file, base).catch(() => null);
    if (video) return video;
  } else if (mimetype.startsWith("audio/")) {
    const duration = await probeAudioDuration(file).catch(() => undefined);
    return { msgtype: "m.audio", info: { ...base, ...(duration ? { duration } : {}) } };
  }
  return { msgtype: "m.file", info: base };
}

async function describeImage(
  file: File,
  base: { mimetype: string; size: number },
): Promise<DescribedFile> {
  const bitmap = await createImageBitmap(file);
  try {
    const info: DescribedFile["info"] = { ...base, w: bitmap.width, h: bitmap.height };
    if (bitmap.width <= NO_THUMBNAIL_BELOW.width && bitmap.height <= NO_THUMBNAIL_BELOW.height) {
      return { msgtype: "m.image", info };
    }
    const type = base.mimetype === "image/jpeg" ? "image/jpeg" : "image/png";
    const thumbnail = await drawThumbnail(bitmap, bitmap.width, bitmap.height, type).catch(() =>
      null
    );
    // A thumbnail bigger than the image itself helps nobody.
    if (!thumbnail || thumbnail.blob.size >= file.size) return { msgtype: "m.image", info };
    return {
      msgtype: "m.image",
      info: { ...info, thumbnail_info: thumbnail.info },
      thumbnail: thumbnail.blob,
    };
  } finally {
    bitmap.close();
  }
}

async function describeVideo(
  file: File,
  base: { mimetype: string; size: number },
): Promise<DescribedFile> {
  const url = URL.createObjectURL(file);
  const video = document.createElement("video");
  try {
    video.muted = true;
    video.preload = "auto";
    video.playsInline = true;
    video.src = url;
    await mediaEvent(video, "loadedmetadata");
    const w = video.videoWidth;
    const h = video.videoHeight;
    const duration = Number.isFinite(video.duration) ? Math.round(video.duration * 1000) : 0;
    const info: DescribedFile["info"] = {
      ...base,
      ...(w && h ? { w, h } : {}),
      ...(duration ? { duration } : {}),
    };
    if (!w || !h) return { msgtype: "m.video", info };
    // A frame a little way in: the very first is often black.
    const seeked = mediaEvent(video, "seeked");
    video.currentTime = Math.min(0.5, (video.duration || 0) / 2);
    const thumbnail = await seeked.then(() => drawThumbnail(video, w, h, "image/jpeg"))
      .catch(() => null);
    if (!thumbnail) return { msgtype: "m.video", info };
    return {
      msgtype: "m.video",
      info: { ...info, thumbnail_info: thumbnail.info },
      thumbnail: thumbnail.blob,
    };
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}

async function probeAudioDuration(file: File): Promise<number | undefined> {
  const url = URL.createObjectURL(file);
  const audio = document.createElement("audio");
  try {
    audio.preload = "metadata";
    audio.src = url;
    await mediaEvent(audio, "loadedmetadata");
    return Number.isFinite(audio.duration) ? Math.round(audio.duration * 1000) : undefined;
  } finally {
    audio.removeAttribute("src");
    URL.revokeObjectURL(url);
  }
}

function mediaEvent(element: HTMLMediaElement, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${name}`)), PROBE_TIMEOUT_MS);
    const onEvent = () => done();
    const onError = () => done(new Error("the browser cannot read this file"));
    function done(err?: Error) {
      clearTimeout(timer);
      element.removeEventListener(name, onEvent);
      element.removeEventListener("error", onError);
      if (err) reject(err);
      else resolve();
    }
    element.addEventListener(name, onEvent);
    element.addEventListener("error", onError);
  });
}

async function drawThumbnail(
  source: CanvasImageSource,
  w: number,
  h: number,
  type: string,
): Promise<{ blob: Blob; info: ThumbnailInfo }> {
  const size = fitInside(w, h, THUMBNAIL_BOX);
  let blob: Blob;
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(size.width, size.height);
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no 2d canvas");
    context.drawImage(source, 0, 0, size.width, size.height);
    blob = await canvas.convertToBlob({ type, quality: 0.8 });
  } else {
    const canvas = document.createElement("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no 2d canvas");
    context.drawImage(source, 0, 0, size.width, size.height);
    blob = await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => b ? resolve(b) : reject(new Error("no thumbnail")), type, 0.8)
    );
  }
  return {
    blob,
    info: { mimetype: blob.type || type, size: blob.size, w: size.width, h: size.height },
  };
}
