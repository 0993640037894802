/**
 * `geo:` URIs (RFC 5870) as location messages carry them: `geo:49.6116,6.1319;u=20` is a
 * latitude and longitude in WGS 84, optionally an altitude and, after `;u=`, the uncertainty
 * in metres. Pure functions, no I/O.
 *
 * @module
 */

/** A point on the earth (WGS 84 degrees) and how sure the sender was of it. */
export interface GeoPoint {
  latitude: number;
  longitude: number;
  /** Metres above the WGS 84 ellipsoid, when given. */
  altitude?: number;
  /** The `u=` uncertainty radius in metres, when given. */
  accuracy?: number;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

function toNumber(text: string): number | null {
  return NUMBER.test(text) ? Number(text) : null;
}

/**
 * Reads a `geo:` URI; null when it is not one, is out of range, or names a coordinate
 * reference system other than WGS 84 (the only one RFC 5870 defines).
 */
export function parseGeoUri(uri: string): GeoPoint | null {
  const match = /^geo:([^;?#]*)((?:;[^?#]*)?)/i.exec(uri.trim());
  if (!match) return null;
  const coords = match[1].split(",");
  if (coords.length < 2 || coords.length > 3) return null;
  const [latitude, longitude, altitude] = coords.map(toNumber);
  if (latitude === null || longitude === null || altitude === null) return null;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  const point: GeoPoint = { latitude, longitude };
  if (altitude !== undefined) point.altitude = altitude;
  for (const param of match[2].split(";").slice(1)) {
    const [name, value = ""] = param.split("=");
    const key = name.toLowerCase();
    if (key === "crs" && value.toLowerCase() !== "wgs84") return null;
    if (key === "u") {
      const accuracy = toNumber(value);
      if (accuracy === null || accuracy < 0) return null;
      point.accuracy = accuracy;
    }
  }
  return point;
}

/** Six decimals are about 0.1 m: finer digits only repeat the receiver's noise. */
function coordinate(value: number): string {
  return String(Number(value.toFixed(6)));
}

/** Writes a `geo:` URI, with `;u=` rounded up to whole metres when an accuracy is known. */
export function formatGeoUri(point: GeoPoint): string {
  let uri = `geo:${coordinate(point.latitude)},${coordinate(point.longitude)}`;
  if (point.altitude !== undefined) uri += `,${Number(point.altitude.toFixed(1))}`;
  if (point.accuracy !== undefined && Number.isFinite(point.accuracy)) {
    uri += `;u=${Math.ceil(Math.max(0, point.accuracy))}`;
  }
  return uri;
}

/**
 * Geoportail.lu's map with a cross on the point: its permalinks take the centre in Web
 * Mercator metres (EPSG:3857) as `X` and `Y`.
 */
export const GEOPORTAIL_LINK_URL =
  "https://map.geoportail.lu/theme/main?version=3&lang=fr&zoom={zoom}&X={x}&Y={y}" +
  "&bgLayer=basemap_2015_global&crosshair=true";

/** OpenStreetMap with a marker on the point, for places outside Luxembourg. */
export const OSM_LINK_URL =
  "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={zoom}/{lat}/{lon}";

const LINK_PLACEHOLDERS = new Set(["lat", "lon", "zoom", "x", "y"]);

/**
 * Whether `template` is a web map link template: an https URL whose placeholders are among
 * `{lat}`, `{lon}` (WGS 84 degrees), `{x}`, `{y}` (EPSG:3857 metres) and `{zoom}`, with the
 * point in one of the two forms.
 */
export function isMapLinkTemplate(template: string): boolean {
  if (template.length > 500 || !/^https:\/\/[^/{}\s]+\/\S*$/i.test(template)) return false;
  const names = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  if (names.some((name) => !LINK_PLACEHOLDERS.has(name))) return false;
  const has = (name: string) => names.includes(name);
  return (has("lat") && has("lon")) || (has("x") && has("y"));
}

/** Luxembourg's extent in degrees, with a margin of a few hundred metres. */
const LUXEMBOURG = { south: 49.44, north: 50.19, west: 5.73, east: 6.54 };

/** Whether a point lies in (the box around) Luxembourg, where Geoportail.lu has the map. */
export function inLuxembourg(point: GeoPoint): boolean {
  return point.latitude >= LUXEMBOURG.south && point.latitude <= LUXEMBOURG.north &&
    point.longitude >= LUXEMBOURG.west && point.longitude <= LUXEMBOURG.east;
}

/** The point in Web Mercator metres (EPSG:3857). */
export function webMercator(point: GeoPoint): { x: number; y: number } {
  const radius = 6378137;
  const lat = Math.max(-85.0511287798066, Math.min(85.0511287798066, point.latitude));
  return {
    x: radius * point.longitude * Math.PI / 180,
    y: radius * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)),
  };
}

/**
 * A web map at the point, for "Open in map": the operator's template (`[web] map_link_url`)
 * when there is one, else Geoportail.lu for places in Luxembourg and OpenStreetMap elsewhere.
 */
export function webMapUrl(point: GeoPoint, zoom = 16, template = ""): string {
  const chosen = template && isMapLinkTemplate(template)
    ? template
    : inLuxembourg(point)
    ? GEOPORTAIL_LINK_URL
    : OSM_LINK_URL;
  const { x, y } = webMercator(point);
  const values: Record<string, string> = {
    lat: coordinate(point.latitude),
    lon: coordinate(point.longitude),
    zoom: String(Math.round(zoom)),
    x: x.toFixed(0),
    y: y.toFixed(0),
  };
  return chosen.replace(/\{(lat|lon|zoom|x|y)\}/g, (_, name: string) => values[name]);
}
