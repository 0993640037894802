/**
 * Thumbnail geometry and resampling: the spec's "crop" and "scale" methods (never upscaling),
 * an area-averaging downscaler, and the output format (JPEG for opaque images, PNG when there
 * is transparency).
 *
 * @module
 */

import { encodeJpeg, encodePng, hasTransparency, type RgbaImage } from "./image_codecs.ts";

/** The spec's thumbnail methods. */
export type ThumbnailMethod = "crop" | "scale";

/** A requested thumbnail: the minimum size the client would like, and the method. */
export interface ThumbnailRequest {
  width: number;
  height: number;
  method: ThumbnailMethod;
}

/** The sizes the spec recommends, generated right after an image is uploaded. */
export const STANDARD_THUMBNAILS: readonly ThumbnailRequest[] = [
  { width: 32, height: 32, method: "crop" },
  { width: 96, height: 96, method: "crop" },
  { width: 320, height: 240, method: "scale" },
  { width: 640, height: 480, method: "scale" },
  { width: 800, height: 600, method: "scale" },
];

/** The cache key part of a request, e.g. `96x96-crop`. */
export function thumbnailSpec(request: ThumbnailRequest): string {
  return `${request.width}x${request.height}-${request.method}`;
}

/** Where a thumbnail comes from (a source rectangle) and its output size. */
export interface ThumbnailPlan {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
  width: number;
  height: number;
}

/**
 * Plans a thumbnail of a `sourceWidth`×`sourceHeight` image; null when the image is no larger
 * than the request in both dimensions (the original should be served instead).
 *
 * "scale" keeps the aspect ratio and fits inside the requested box (one side equals the
 * request). "crop" cuts the centre to the requested aspect ratio and scales it to the requested
 * size, or to the largest size the source allows without upscaling.
 */
export function planThumbnail(
  sourceWidth: number,
  sourceHeight: number,
  request: ThumbnailRequest,
): ThumbnailPlan | null {
  if (sourceWidth <= request.width && sourceHeight <= request.height) return null;
  if (request.method === "scale") {
    const factor = Math.min(request.width / sourceWidth, request.height / sourceHeight);
    return {
      sx: 0,
      sy: 0,
      sw: sourceWidth,
      sh: sourceHeight,
      width: Math.max(1, Math.round(sourceWidth * factor)),
      height: Math.max(1, Math.round(sourceHeight * factor)),
    };
  }
  const aspect = request.width / request.height;
  let sw = sourceWidth;
  let sh = sourceHeight;
  if (sourceWidth / sourceHeight > aspect) sw = Math.max(1, Math.round(sourceHeight * aspect));
  else sh = Math.max(1, Math.round(sourceWidth / aspect));
  const factor = Math.min(1, request.width / sw);
  return {
    sx: Math.floor((sourceWidth - sw) / 2),
    sy: Math.floor((sourceHeight - sh) / 2),
    sw,
    sh,
    width: Math.max(1, Math.round(sw * factor)),
    height: Math.max(1, Math.round(sh * factor)),
  };
}

/** For each output index, the source indexes it covers and their weights (area averaging). */
function weights(sourceStart: number, sourceLength: number, outLength: number) {
  const ratio = sourceLength / outLength;
  const out: { first: number; w: Float32Array }[] = [];
  for (let i = 0; i < outLength; i++) {
    const from = sourceStart + i * ratio;
    const to = from + ratio;
    const first = Math.floor(from);
    const last = Math.min(Math.ceil(to), sourceStart + sourceLength);
    const w = new Float32Array(last - first);
    for (let s = first; s < last; s++) {
      w[s - first] = (Math.min(to, s + 1) - Math.max(from, s)) / ratio;
    }
    out.push({ first, w });
  }
  return out;
}

/** Cuts and resamples `image` as planned (area-averaging, alpha-weighted). */
export function resample(image: RgbaImage, plan: ThumbnailPlan): RgbaImage {
  const { width: outW, height: outH } = plan;
  const cols = weights(plan.sx, plan.sw, outW);
  const rows = weights(plan.sy, plan.sh, outH);
  const src = image.data;
  const stride = image.width * 4;
  // Horizontal pass over the rows of the source rectangle, premultiplying by alpha.
  const mid = new Float32Array(outW * plan.sh * 4);
  for (let y = 0; y < plan.sh; y++) {
    const rowBase = (plan.sy + y) * stride;
    for (let x = 0; x < outW; x++) {
      const { first, w } = cols[x];
      let r = 0, g = 0, b = 0, a = 0;
      for (let k = 0; k < w.length; k++) {
        const p = rowBase + (first + k) * 4;
        const alpha = src[p + 3] * w[k];
        r += src[p] * alpha;
        g += src[p + 1] * alpha;
        b += src[p + 2] * alpha;
        a += alpha;
      }
      const o = (y * outW + x) * 4;
      mid[o] = r;
      mid[o + 1] = g;
      mid[o + 2] = b;
      mid[o + 3] = a;
    }
  }
  const out = new Uint8Array(outW * outH * 4);
  for (let y = 0; y < outH; y++) {
    const { first, w } = rows[y];
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let k = 0; k < w.length; k++) {
        const p = ((first - plan.sy + k) * outW + x) * 4;
        r += mid[p] * w[k];
        g += mid[p + 1] * w[k];
        b += mid[p + 2] * w[k];
        a += mid[p + 3] * w[k];
      }
      const o = (y * outW + x) * 4;
      if (a > 0) {
        out[o] = Math.round(r / a);
        out[o + 1] = Math.round(g / a);
        out[o + 2] = Math.round(b / a);
      }
      out[o + 3] = Math.round(a);
    }
  }
  return { width: outW, height: outH, data: out };
}

/** An encoded thumbnail. */
export interface Thumbnail {
  bytes: Uint8Array;
  contentType: "image/jpeg" | "image/png";
  width: number;
  height: number;
}

/** Resamples and encodes: JPEG when every pixel is opaque, PNG otherwise. */
export async function makeThumbnail(image: RgbaImage, plan: ThumbnailPlan): Promise<Thumbnail> {
  const small = resample(image, plan);
  if (hasTransparency(small)) {
    return { bytes: await encodePng(small), contentType: "image/png", ...dims(small) };
  }
  return { bytes: await encodeJpeg(small), contentType: "image/jpeg", ...dims(small) };
}

function dims(image: RgbaImage) {
  return { width: image.width, height: image.height };
}
