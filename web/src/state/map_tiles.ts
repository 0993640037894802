/**
 * The maths of a slippy map: 256-pixel Web Mercator (EPSG:3857) tiles addressed `{z}/{x}/{y}`,
 * which tiles cover a view centred on a point, and the way back from a pixel to a point. Pure
 * functions, no I/O.
 *
 * @module
 */

import { isMapLinkTemplate } from "./geo_uri.ts";

/** Tile edge in pixels. */
export const TILE_SIZE = 256;
/** Web Mercator stops here: the square world map's top and bottom edges. */
export const MAX_LATITUDE = 85.0511287798066;

/** Where tiles come from (the server's `[web]` section, through `/config.json`). */
export interface MapSettings {
  /** URL template with `{z}`, `{x}` and `{y}`. */
  tileUrl: string;
  /** Credit shown under every map. */
  attribution: string;
  /** The deepest zoom level the tile source has. */
  maxZoom: number;
  /** "Open in map" link template (`{lat}`, `{lon}`, `{x}`, `{y}`, `{zoom}`); "" for the built-in. */
  linkUrl: string;
}

/**
 * Geoportail.lu's open-data base map (Administration du cadastre et de la topographie, data
 * under CC0 with OpenStreetMap contributions), a public XYZ/WMTS endpoint in Web Mercator.
 */
export const DEFAULT_MAP_SETTINGS: Readonly<MapSettings> = {
  tileUrl: "https://wmts1.geoportail.lu/opendata/wmts/basemap/GLOBAL_WEBMERCATOR/{z}/{x}/{y}.png",
  attribution: "© geoportail.lu (ACT), © OpenStreetMap contributors",
  maxZoom: 19,
  linkUrl: "",
};

/** A position in world pixels at one zoom level (0,0 is the north-west corner). */
export interface WorldPixel {
  x: number;
  y: number;
}

/** The world's width (and height) in pixels at `zoom`. */
export function worldSize(zoom: number): number {
  return TILE_SIZE * 2 ** zoom;
}

/** Latitude and longitude to world pixels at `zoom` (latitudes beyond ±85.05° are clamped). */
export function project(latitude: number, longitude: number, zoom: number): WorldPixel {
  const size = worldSize(zoom);
  const lat = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, latitude)) * Math.PI / 180;
  const x = (longitude + 180) / 360 * size;
  const y = (1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2 * size;
  return { x, y };
}

/** World pixels at `zoom` back to latitude and longitude (x wraps around the world). */
export function unproject(
  pixel: WorldPixel,
  zoom: number,
): { latitude: number; longitude: number } {
  const size = worldSize(zoom);
  const x = ((pixel.x % size) + size) % size;
  const y = Math.max(0, Math.min(size, pixel.y));
  const longitude = x / size * 360 - 180;
  const latitude = Math.atan(Math.sinh(Math.PI * (1 - 2 * y / size))) * 180 / Math.PI;
  return { latitude, longitude };
}

/** The tile holding a point: `{x, y}` at `zoom`. */
export function tileAt(
  latitude: number,
  longitude: number,
  zoom: number,
): { x: number; y: number } {
  const { x, y } = project(latitude, longitude, zoom);
  const count = 2 ** zoom;
  const clamp = (value: number) => Math.max(0, Math.min(count - 1, Math.floor(value / TILE_SIZE)));
  return { x: clamp(x), y: clamp(y) };
}

/** One tile placed in a view. */
export interface PlacedTile {
  /** Tile address (x already wrapped into 0..2^z-1). */
  z: number;
  x: number;
  y: number;
  /** Offset of the tile's top-left corner from the view's top-left corner, in pixels. */
  left: number;
  top: number;
}

/** A view of `width` × `height` pixels centred on a point. */
export interface ViewLayout {
  tiles: PlacedTile[];
  /** Where the centre point is inside the view (pixels). */
  marker: { left: number; top: number };
  /** The view's top-left corner in world pixels. */
  origin: WorldPixel;
}

/**
 * The tiles covering a `width` × `height` view centred on the point at `zoom`: every tile that
 * shows at least one pixel, wrapped east-west, none beyond the poles.
 */
export function layoutView(
  center: { latitude: number; longitude: number },
  options: { zoom: number; width: number; height: number },
): ViewLayout {
  const { zoom, width, height } = options;
  const middle = project(center.latitude, center.longitude, zoom);
  const origin = { x: middle.x - width / 2, y: middle.y - height / 2 };
  const count = 2 ** zoom;
  const tiles: PlacedTile[] = [];
  const firstX = Math.floor(origin.x / TILE_SIZE);
  const lastX = Math.floor((origin.x + width - 1) / TILE_SIZE);
  const firstY = Math.max(0, Math.floor(origin.y / TILE_SIZE));
  const lastY = Math.min(count - 1, Math.floor((origin.y + height - 1) / TILE_SIZE));
  for (let ty = firstY; ty <= lastY; ty++) {
    for (let tx = firstX; tx <= lastX; tx++) {
      tiles.push({
        z: zoom,
        x: ((tx % count) + count) % count,
        y: ty,
        left: Math.round(tx * TILE_SIZE - origin.x),
        top: Math.round(ty * TILE_SIZE - origin.y),
      });
    }
  }
  return { tiles, marker: { left: width / 2, top: height / 2 }, origin };
}

/** The point under a pixel of a view laid out by {@link layoutView}. */
export function pointInView(
  layout: ViewLayout,
  pixel: { left: number; top: number },
  zoom: number,
): { latitude: number; longitude: number } {
  return unproject({ x: layout.origin.x + pixel.left, y: layout.origin.y + pixel.top }, zoom);
}

/** A tile's URL from a template: `{z}`, `{x}` and `{y}` filled in. */
export function tileUrl(template: string, tile: { z: number; x: number; y: number }): string {
  return template.replaceAll("{z}", String(tile.z)).replaceAll("{x}", String(tile.x))
    .replaceAll("{y}", String(tile.y));
}

/** Whether a tile URL template is usable: http(s), with `{z}`, `{x}`, `{y}` and nothing else. */
export function isTileTemplate(template: string): boolean {
  if (!/^https?:\/\/[^/{}]+\//i.test(template)) return false;
  const names = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  return ["z", "x", "y"].every((name) => names.includes(name)) &&
    names.every((name) => name === "z" || name === "x" || name === "y");
}

/** Metres one pixel covers at a latitude and zoom (for drawing the accuracy circle). */
export function metresPerPixel(latitude: number, zoom: number): number {
  const earthCircumference = 40075016.686;
  return earthCircumference * Math.cos(latitude * Math.PI / 180) / worldSize(zoom);
}

/** Reads `/config.json`'s `map` object; anything missing or invalid keeps the default. */
export function mapSettingsFrom(json: unknown): MapSettings {
  const map = (json as { map?: Record<string, unknown> } | null)?.map;
  const settings = { ...DEFAULT_MAP_SETTINGS };
  if (!map || typeof map !== "object") return settings;
  if (typeof map.tile_url === "string" && isTileTemplate(map.tile_url)) {
    settings.tileUrl = map.tile_url;
    // A different source has different credits; an empty one is the operator's choice.
    settings.attribution = typeof map.attribution === "string" ? map.attribution : "";
  } else if (typeof map.attribution === "string" && map.attribution) {
    settings.attribution = map.attribution;
  }
  if (typeof map.link_url === "string" && isMapLinkTemplate(map.link_url)) {
    settings.linkUrl = map.link_url;
  }
  const maxZoom = map.max_zoom;
  if (typeof maxZoom === "number" && Number.isInteger(maxZoom) && maxZoom >= 1 && maxZoom <= 22) {
    settings.maxZoom = maxZoom;
  }
  return settings;
}
