/**
 * Image formats for thumbnails, all inside the program: the format and dimensions read from
 * the header (so a decompression bomb is refused before any pixel is decoded), decoding JPEG,
 * PNG, GIF (first frame) and WebP to RGBA, and encoding JPEG or PNG.
 *
 * Libraries: `jpeg-js` (JPEG, pure JavaScript), `fast-png` (PNG, pure JavaScript with fflate),
 * `omggif` (GIF, pure JavaScript) and libwebp's decoder as WebAssembly (`@cwasm/webp`),
 * imported as a module (see `webp_wasm.js`) so a compiled binary embeds it.
 *
 * @module
 */

import type * as JpegJs from "jpeg-js";
import type * as FastPng from "fast-png";
import type * as Omggif from "omggif";

/** The decoder and encoder libraries, loaded on first use (see {@link codecs}). */
interface Codecs {
  jpeg: typeof JpegJs;
  png: typeof FastPng;
  gif: typeof Omggif;
  webpModule: WebAssembly.Module;
}

let codecsLoading: Promise<Codecs> | null = null;

/**
 * Loads the codec libraries once. They add about 13 MB to a server's resident memory, so a
 * server loads them with its first thumbnail rather than at start (docs/benchmarks.md).
 */
function codecs(): Promise<Codecs> {
  codecsLoading ??= Promise.all([
    import("jpeg-js"),
    import("fast-png"),
    import("omggif"),
    import("./webp_wasm.js"),
  ]).then(([jpeg, png, gif, webp]) => ({ jpeg, png, gif, webpModule: webp.default }));
  return codecsLoading;
}

/** The formats thumbnails are made from. */
export type ImageFormat = "jpeg" | "png" | "gif" | "webp";

/** An image in memory: 8-bit RGBA, row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What the header says. */
export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
}

/** The content type of each format. */
export const FORMAT_TYPES: Readonly<Record<ImageFormat, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
};

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u16le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8);
}

function u24le(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

function jpegInfo(b: Uint8Array): ImageInfo | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const length = u16be(b, i + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc;
    if (isSof) return { format: "jpeg", height: u16be(b, i + 5), width: u16be(b, i + 7) };
    if (marker === 0xda || marker === 0xd9) return null; // scan data before a frame header
    i += 2 + length;
  }
  return null;
}

function webpInfo(b: Uint8Array): ImageInfo | null {
  if (b.length < 30) return null;
  const chunk = ascii(b, 12, 4);
  const data = 20;
  if (chunk === "VP8 ") {
    if (b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a) return null;
    return {
      format: "webp",
      width: u16le(b, data + 6) & 0x3fff,
      height: u16le(b, data + 8) & 0x3fff,
    };
  }
  if (chunk === "VP8L") {
    if (b[data] !== 0x2f) return null;
    const bits = b[data + 1] | (b[data + 2] << 8) | (b[data + 3] << 16) | (b[data + 4] << 24);
    return { format: "webp", width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    return { format: "webp", width: u24le(b, data + 4) + 1, height: u24le(b, data + 7) + 1 };
  }
  return null;
}

/**
 * Reads the format and dimensions from the first bytes of a file (a few KiB suffice for
 * well-formed files); null when the bytes are not a JPEG, PNG, GIF or WebP image.
 */
export function imageInfo(bytes: Uint8Array): ImageInfo | null {
  if (bytes.length >= 24 && bytes[0] === 0x89 && ascii(bytes, 1, 3) === "PNG") {
    if (ascii(bytes, 12, 4) !== "IHDR") return null;
    return { format: "png", width: u32be(bytes, 16), height: u32be(bytes, 20) };
  }
  if (bytes.length >= 10 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) {
    return { format: "gif", width: u16le(bytes, 6), height: u16le(bytes, 8) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return jpegInfo(bytes);
  }
  if (bytes.length >= 16 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") {
    return webpInfo(bytes);
  }
  return null;
}

function pngToRgba(lib: Codecs, bytes: Uint8Array): RgbaImage {
  const png = lib.png.decode(bytes);
  const { width, height, channels, depth } = png;
  const out = new Uint8Array(width * height * 4);
  if (png.palette) {
    const rowBytes = Math.ceil((width * depth) / 8);
    const src = png.data as Uint8Array;
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = src[y * rowBytes + Math.floor(x / perByte)];
        const index = (byte >> ((perByte - 1 - (x % perByte)) * depth)) & mask;
        const color = png.palette[index] ?? [0, 0, 0];
        const o = (y * width + x) * 4;
        out[o] = color[0];
        out[o + 1] = color[1];
        out[o + 2] = color[2];
        out[o + 3] = color[3] ?? png.transparency?.[index] ?? 255;
      }
    }
    return { width, height, data: out };
  }
  const src = png.data;
  const scale = depth === 16 ? 257 : depth === 8 ? 1 : 255 / ((1 << depth) - 1);
  const sample = depth === 16 ? (v: number) => v >> 8 : (v: number) => Math.round(v * scale);
  if (depth < 8) {
    // Low bit-depth grey: unpack row by row.
    const rowBytes = Math.ceil((width * depth) / 8);
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = src[y * rowBytes + Math.floor(x / perByte)];
        const v = sample((byte >> ((perByte - 1 - (x % perByte)) * depth)) & mask);
        const o = (y * width + x) * 4;
        out[o] = out[o + 1] = out[o + 2] = v;
        out[o + 3] = 255;
      }
    }
    return { width, height, data: out };
  }
  for (let p = 0, s = 0; p < width * height; p++, s += channels) {
    const o = p * 4;
    if (channels >= 3) {
      out[o] = sample(src[s]);
      out[o + 1] = sample(src[s + 1]);
      out[o + 2] = sample(src[s + 2]);
      out[o + 3] = channels === 4 ? sample(src[s + 3]) : 255;
    } else {
      out[o] = out[o + 1] = out[o + 2] = sample(src[s]);
      out[o + 3] = channels === 2 ? sample(src[s + 1]) : 255;
    }
  }
  return { width, height, data: out };
}

function gifToRgba(lib: Codecs, bytes: Uint8Array): RgbaImage {
  const reader = new lib.gif.GifReader(bytes);
  const width: number = reader.width;
  const height: number = reader.height;
  const data = new Uint8Array(width * height * 4);
  if (reader.numFrames() > 0) reader.decodeAndBlitFrameRGBA(0, data);
  return { width, height, data };
}

interface WebpExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  WebPDecodeRGBA(data: number, size: number, width: number, height: number): number;
}

let webp: WebpExports | null = null;

function webpDecoder(webpModule: WebAssembly.Module): WebpExports {
  if (!webp) {
    const unsupported = () => {
      throw new Error("WASI call not available to the WebP decoder");
    };
    const instance = new WebAssembly.Instance(webpModule, {
      wasi_snapshot_preview1: {
        fd_close: unsupported,
        fd_seek: unsupported,
        fd_write: unsupported,
      },
    });
    webp = instance.exports as unknown as WebpExports;
  }
  return webp;
}

function webpToRgba(codecs: Codecs, bytes: Uint8Array): RgbaImage {
  const lib = webpDecoder(codecs.webpModule);
  const input = lib.malloc(bytes.byteLength);
  const dims = lib.malloc(8);
  try {
    new Uint8Array(lib.memory.buffer, input, bytes.byteLength).set(bytes);
    const output = lib.WebPDecodeRGBA(input, bytes.byteLength, dims, dims + 4);
    if (output === 0) throw new Error("not a decodable WebP image");
    const [width, height] = new Uint32Array(lib.memory.buffer, dims, 2);
    const data = new Uint8Array(lib.memory.buffer, output, width * height * 4).slice();
    lib.free(output);
    return { width, height, data };
  } finally {
    lib.free(input);
    lib.free(dims);
  }
}

/**
 * Decodes an image to RGBA. Check {@link imageInfo} against the pixel limit first; the decoders
 * are given the same limit as a second guard.
 *
 * @throws {Error} when the bytes do not decode
 */
export async function decodeImage(
  bytes: Uint8Array,
  info: ImageInfo,
  maxPixels: number,
): Promise<RgbaImage> {
  const lib = await codecs();
  let image: RgbaImage;
  switch (info.format) {
    case "jpeg": {
      const decoded = lib.jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: maxPixels / 1e6,
        maxMemoryUsageInMB: Math.ceil((maxPixels * 8) / 2 ** 20) + 64,
      });
      image = { width: decoded.width, height: decoded.height, data: decoded.data };
      break;
    }
    case "png":
      image = pngToRgba(lib, bytes);
      break;
    case "gif":
      image = gifToRgba(lib, bytes);
      break;
    case "webp":
      image = webpToRgba(lib, bytes);
      break;
  }
  if (image.width * image.height > maxPixels) throw new Error("image has too many pixels");
  return image;
}

/** Whether any pixel is not fully opaque. */
export function hasTransparency(image: RgbaImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] !== 255) return true;
  return false;
}

/** Encodes RGBA as JPEG (alpha dropped onto white is the caller's choice; here it is ignored). */
export async function encodeJpeg(image: RgbaImage, quality = 80): Promise<Uint8Array> {
  const encoded = (await codecs()).jpeg.encode(
    { width: image.width, height: image.height, data: image.data },
    quality,
  );
  return new Uint8Array(encoded.data.buffer, encoded.data.byteOffset, encoded.data.byteLength);
}

/** Encodes RGBA as PNG. */
export async function encodePng(image: RgbaImage): Promise<Uint8Array> {
  return (await codecs()).png.encode({
    width: image.width,
    height: image.height,
    data: image.data,
    channels: 4,
    depth: 8,
  });
}
