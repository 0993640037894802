/**
 * Small test images made in the test, in every format thumbnails are made from: JPEG (jpeg-js),
 * PNG (fast-png), GIF (omggif) and a minimal lossless WebP encoder written here for
 * two-level colour channels (simple one- or two-symbol prefix codes, no transforms).
 *
 * @module
 */

import { encode as encodeJpegBytes } from "jpeg-js";
import { encode as encodePngBytes } from "fast-png";
import { GifWriter } from "omggif";

/** A gradient with a diagonal stripe, opaque unless `alpha` is set. */
export function testPixels(width: number, height: number, alpha = false): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 255 / width) | 0;
      data[o + 1] = (y * 255 / height) | 0;
      data[o + 2] = (x + y) % 40 < 20 ? 200 : 30;
      data[o + 3] = alpha ? ((x * 255 / width) | 0) : 255;
    }
  }
  return data;
}

/** A JPEG of the test pattern. */
export function testJpeg(width: number, height: number): Uint8Array<ArrayBuffer> {
  const encoded = encodeJpegBytes({ width, height, data: testPixels(width, height) }, 85);
  return new Uint8Array(encoded.data);
}

/** A PNG of the test pattern (with a horizontal alpha ramp when `alpha`). */
export function testPng(width: number, height: number, alpha = false): Uint8Array<ArrayBuffer> {
  return new Uint8Array(encodePngBytes({
    width,
    height,
    data: testPixels(width, height, alpha),
    channels: 4,
    depth: 8,
  }));
}

/** A GIF with a 4-colour palette and a checkerboard of 10-pixel squares. */
export function testGif(width: number, height: number): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(width * height * 2 + 1024);
  const writer = new GifWriter(buffer, width, height, {
    palette: [0xff0000, 0x00ff00, 0x0000ff, 0xffffff],
  });
  const indexes = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) indexes[y * width + x] = ((x / 10) ^ (y / 10)) & 3;
  }
  writer.addFrame(0, 0, width, height, indexes);
  return buffer.slice(0, writer.end());
}

class BitWriter {
  bytes: number[] = [];
  #bit = 0;
  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      if (this.#bit === 0) this.bytes.push(0);
      this.bytes[this.bytes.length - 1] |= ((value >> i) & 1) << this.#bit;
      this.#bit = (this.#bit + 1) & 7;
    }
  }
}

/** A simple prefix code: one symbol (no bits per use) or the two symbols 0 and 255 (1 bit). */
function simpleCode(out: BitWriter, symbols: [number] | [0, 255]): void {
  out.write(1, 1); // simple code
  out.write(symbols.length - 1, 1);
  if (symbols.length === 1) {
    out.write(1, 1); // 8-bit symbol
    out.write(symbols[0], 8);
  } else {
    out.write(0, 1); // first symbol in 1 bit: 0
    out.write(0, 1);
    out.write(255, 8);
  }
}

/**
 * A lossless WebP whose red and blue channels are 0 or 255 (a red/blue/magenta/black
 * checkerboard), green 0, alpha 255.
 */
export function testWebp(width: number, height: number): Uint8Array<ArrayBuffer> {
  const bits = new BitWriter();
  bits.write(0x2f, 8);
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha not used
  bits.write(0, 3); // version
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no colour cache
  bits.write(0, 1); // no meta prefix codes
  simpleCode(bits, [0]); // green
  simpleCode(bits, [0, 255]); // red
  simpleCode(bits, [0, 255]); // blue
  simpleCode(bits, [255]); // alpha
  simpleCode(bits, [0]); // distance
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      bits.write((x >> 3) & 1, 1); // red: 0 or 255
      bits.write((y >> 3) & 1, 1); // blue
    }
  }
  const data = bits.bytes;
  const padded = data.length + (data.length & 1);
  const out = new Uint8Array(20 + padded);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode("RIFF"), 0);
  view.setUint32(4, 12 + padded, true);
  out.set(new TextEncoder().encode("WEBPVP8L"), 8);
  view.setUint32(16, data.length, true);
  out.set(data, 20);
  return out;
}
