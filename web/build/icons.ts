/**
 * The app icon, drawn from a few shapes: a rounded sky-blue square with a white speech
 * bubble holding three dots. The same shapes give the SVG (browsers' tab icon) and the PNGs the
 * manifest lists, rasterised here with 4x4 supersampling and encoded as RGBA PNG.
 *
 * @module
 */

import { deflateSync } from "node:zlib";

/** The brand colour (Tailwind sky-700), also the manifest's theme colour. */
export const BRAND_COLOUR = "#0369a1";
const BRAND_RGB: readonly [number, number, number] = [0x03, 0x69, 0xa1];
const WHITE_RGB: readonly [number, number, number] = [0xff, 0xff, 0xff];

/** Geometry in a unit square. */
const CORNER = 0.22;
const BUBBLE = { x0: 0.2, y0: 0.24, x1: 0.8, y1: 0.66, r: 0.13 };
const TAIL: readonly (readonly [number, number])[] = [[0.3, 0.6], [0.48, 0.6], [0.26, 0.8]];
const DOTS: readonly (readonly [number, number])[] = [[0.36, 0.45], [0.5, 0.45], [0.64, 0.45]];
const DOT_R = 0.05;

function insideRoundedRect(
  x: number,
  y: number,
  box: { x0: number; y0: number; x1: number; y1: number; r: number },
): boolean {
  if (x < box.x0 || x > box.x1 || y < box.y0 || y > box.y1) return false;
  const cx = Math.min(Math.max(x, box.x0 + box.r), box.x1 - box.r);
  const cy = Math.min(Math.max(y, box.y0 + box.r), box.y1 - box.r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= box.r ** 2;
}

function insideTriangle(x: number, y: number, [a, b, c]: typeof TAIL): boolean {
  const side = (p: readonly number[], q: readonly number[]) =>
    (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const d1 = side(a, b), d2 = side(b, c), d3 = side(c, a);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
}

/** The colour at a point, or null outside the icon. */
function colourAt(x: number, y: number, fullBleed: boolean): readonly number[] | null {
  const square = { x0: 0, y0: 0, x1: 1, y1: 1, r: fullBleed ? 0 : CORNER };
  if (!insideRoundedRect(x, y, square)) return null;
  if (DOTS.some(([dx, dy]) => (x - dx) ** 2 + (y - dy) ** 2 <= DOT_R ** 2)) return BRAND_RGB;
  if (insideRoundedRect(x, y, BUBBLE) || insideTriangle(x, y, TAIL)) return WHITE_RGB;
  return BRAND_RGB;
}

/** The icon as SVG. */
export function iconSvg(): string {
  const s = (n: number) => String(Math.round(n * 512 * 100) / 100);
  const b = BUBBLE;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">`,
    `<rect width="512" height="512" rx="${s(CORNER)}" fill="${BRAND_COLOUR}"/>`,
    `<rect x="${s(b.x0)}" y="${s(b.y0)}" width="${s(b.x1 - b.x0)}" height="${s(b.y1 - b.y0)}" rx="${
      s(b.r)
    }" fill="#fff"/>`,
    `<path d="M${TAIL.map(([x, y]) => `${s(x)} ${s(y)}`).join("L")}Z" fill="#fff"/>`,
    ...DOTS.map(([x, y]) =>
      `<circle cx="${s(x)}" cy="${s(y)}" r="${s(DOT_R)}" fill="${BRAND_COLOUR}"/>`
    ),
    `</svg>`,
  ].join("");
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes RGBA pixels as a PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const raw = new Uint8Array(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The icon as a PNG of `size` pixels square. `fullBleed` fills the whole square (the
 * manifest's maskable icon, which platforms crop to their own shape).
 */
export function iconPng(size: number, options: { fullBleed?: boolean } = {}): Uint8Array {
  const samples = 4;
  const rgba = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const colour = colourAt(
            (px + (sx + 0.5) / samples) / size,
            (py + (sy + 0.5) / samples) / size,
            options.fullBleed ?? false,
          );
          if (!colour) continue;
          r += colour[0];
          g += colour[1];
          b += colour[2];
          a++;
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) {
        rgba[i] = Math.round(r / a);
        rgba[i + 1] = Math.round(g / a);
        rgba[i + 2] = Math.round(b / a);
      }
      rgba[i + 3] = Math.round((a / (samples * samples)) * 255);
    }
  }
  return encodePng(size, size, rgba);
}
