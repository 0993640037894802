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

/** A web map at the point (OpenStreetMap), for "Open in map". */
export function webMapUrl(point: GeoPoint, zoom = 16): string {
  const lat = coordinate(point.latitude);
  const lon = coordinate(point.longitude);
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=${zoom}/${lat}/${lon}`;
}
