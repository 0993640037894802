/**
 * Location sharing: the map's tile source (from the server's `/config.json`), the
 * share-location form (this device's position, or a pin put on the map), and location
 * messages in both the spec's form (`msgtype: m.location`, `geo_uri`) and MSC3488's extensible
 * blocks that Element sends and reads (`org.matrix.msc3488.location`, `.asset`, `.ts`).
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type { MessageKey } from "../i18n/index.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import { formatGeoUri, type GeoPoint, parseGeoUri } from "./geo_uri.ts";
import { DEFAULT_MAP_SETTINGS, type MapSettings, mapSettingsFrom } from "./map_tiles.ts";

/** Whose place a location message shows: the sender's own, or a place they picked. */
export type AssetType = "m.self" | "m.pin";

/** A location message as the app shows it. */
export interface SharedLocation {
  point: GeoPoint;
  /** The `geo:` URI as sent. */
  uri: string;
  description: string | null;
  asset: AssetType;
  /** When the position was taken (ms since the epoch), if the sender said. */
  ts: number | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a location message's content (MSC3488 blocks first, then the spec's `geo_uri`). */
export function parseLocationContent(content: unknown): SharedLocation | null {
  if (!isObject(content)) return null;
  const block = content["org.matrix.msc3488.location"] ?? content["m.location"];
  const uri = (isObject(block) && typeof block.uri === "string" ? block.uri : null) ??
    (typeof content.geo_uri === "string" ? content.geo_uri : null);
  if (!uri) return null;
  const point = parseGeoUri(uri);
  if (!point) return null;
  const description = isObject(block) && typeof block.description === "string" &&
      block.description.trim()
    ? block.description.trim()
    : null;
  const asset = content["org.matrix.msc3488.asset"] ?? content["m.asset"];
  const ts = content["org.matrix.msc3488.ts"] ?? content["m.ts"];
  return {
    point,
    uri,
    description,
    asset: isObject(asset) && asset.type === "m.pin" ? "m.pin" : "m.self",
    ts: typeof ts === "number" && Number.isFinite(ts) ? ts : null,
  };
}

/**
 * The content of a location message: the spec's fields for every client, and MSC3488's blocks
 * (with the MSC1767 text fallback) for Element and other clients that read them.
 */
export function locationContent(
  point: GeoPoint,
  options: { asset: AssetType; text: string; description?: string; ts: number },
): Json {
  const uri = formatGeoUri(point);
  const description = options.description?.trim() || undefined;
  return {
    msgtype: "m.location",
    body: options.text,
    geo_uri: uri,
    "org.matrix.msc3488.location": description ? { uri, description } : { uri },
    "org.matrix.msc3488.asset": { type: options.asset },
    "org.matrix.msc1767.text": options.text,
    "org.matrix.msc3488.ts": options.ts,
  };
}

/** Where the picker starts when this device's position is unknown: Luxembourg City. */
export const DEFAULT_CENTER: Readonly<GeoPoint> = { latitude: 49.6116, longitude: 6.1319 };
/** Zoom of a shared location's map, and of the picker. */
export const DEFAULT_ZOOM = 16;

/** The app's map settings, fetched once from `/config.json` (the defaults until then). */
export class LocationModel {
  readonly #settings = signal<MapSettings>({ ...DEFAULT_MAP_SETTINGS });
  readonly #ready = signal(false);
  #loading: Promise<void> | null = null;
  readonly #fetch: typeof fetch;

  /** The tile source every map uses. */
  readonly settings: ReadonlySignal<MapSettings> = computed(() => this.#settings.value);
  /** `/config.json` has been read (or could not be): maps may ask for tiles. */
  readonly ready: ReadonlySignal<boolean> = computed(() => this.#ready.value);

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Reads `/config.json` once; without it (offline, old server) the defaults stay. */
  loadSettings(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const res = await this.#fetch("/config.json", { cache: "no-cache" });
        if (res.ok) this.#settings.value = mapSettingsFrom(await res.json());
        else await res.body?.cancel();
      } catch { /* offline: keep the defaults */ }
      this.#ready.value = true;
    })();
    return this.#loading;
  }
}

/** The app's location model (it starts reading `/config.json` when first asked for). */
export function locationModel(app: AppModel): LocationModel {
  const model = featureModel(app, "location", () => new LocationModel());
  void model.loadSettings();
  return model;
}

/** The share-location dialog's steps. */
export type ShareStep = "choose" | "locating" | "mine" | "pin";

/** A problem to show, as a message key and its values. */
export interface LocationProblem {
  key: MessageKey;
  params?: Record<string, string | number>;
}

function geolocationProblem(err: unknown): LocationProblem {
  const code = (err as { code?: number } | null)?.code;
  if (code === 1) return { key: "location.error.denied" };
  if (code === 3) return { key: "location.error.timeout" };
  return { key: "location.error.unavailable" };
}

/** The share-location form. */
export class ShareLocationForm {
  readonly #step = signal<ShareStep>("choose");
  readonly #point = signal<GeoPoint | null>(null);
  readonly #problem = signal<LocationProblem | null>(null);
  readonly #sending = signal(false);
  /** The picker's zoom. */
  readonly zoom = signal(DEFAULT_ZOOM);
  /** An optional description of the place. */
  readonly description = signal("");
  /** Where the dialog is. */
  readonly step: ReadonlySignal<ShareStep> = computed(() => this.#step.value);
  /** The position to send: this device's, or the pin. */
  readonly point: ReadonlySignal<GeoPoint | null> = computed(() => this.#point.value);
  readonly problem: ReadonlySignal<LocationProblem | null> = computed(() => this.#problem.value);
  readonly sending: ReadonlySignal<boolean> = computed(() => this.#sending.value);
  #lastPosition: GeoPoint | null = null;
  #request = 0;

  /** Asks the browser where this device is. */
  async locate(geolocation: Geolocation | undefined = globalThis.navigator?.geolocation) {
    this.#problem.value = null;
    if (!geolocation) {
      this.#problem.value = { key: "location.error.unsupported" };
      return;
    }
    const request = ++this.#request;
    this.#step.value = "locating";
    try {
      const position = await new Promise<GeolocationPosition>((resolve, reject) =>
        geolocation.getCurrentPosition(resolve, reject, {
          enableHighAccuracy: true,
          timeout: 20_000,
          maximumAge: 60_000,
        })
      );
      if (request !== this.#request) return;
      const point = {
        latitude: position.coords.latitude,
        longitude: position.coords.longitude,
        accuracy: position.coords.accuracy,
      };
      this.#lastPosition = point;
      this.#point.value = point;
      this.#step.value = "mine";
    } catch (err) {
      if (request !== this.#request) return;
      this.#problem.value = geolocationProblem(err);
      this.#step.value = "choose";
    }
  }

  /** Opens the picker, at this device's last position or at {@link DEFAULT_CENTER}. */
  pickOnMap(): void {
    this.#request++;
    this.#problem.value = null;
    const start = this.#lastPosition ?? DEFAULT_CENTER;
    this.#point.value = { latitude: start.latitude, longitude: start.longitude };
    this.#step.value = "pin";
  }

  /** Moves the pin. */
  movePin(point: { latitude: number; longitude: number }): void {
    if (this.#step.value !== "pin") return;
    this.#point.value = { latitude: point.latitude, longitude: point.longitude };
  }

  /** Back to the first step. */
  back(): void {
    this.#request++;
    this.#problem.value = null;
    this.#step.value = "choose";
  }

  /** Sends the location; true when it went out. `text` builds the plain-text fallback. */
  async send(
    client: MatrixClient,
    roomId: string,
    text: (uri: string, description: string) => string,
  ): Promise<boolean> {
    const point = this.#point.value;
    const step = this.#step.value;
    if (!point || (step !== "mine" && step !== "pin") || this.#sending.value) return false;
    this.#sending.value = true;
    this.#problem.value = null;
    const description = step === "pin" ? this.description.value.trim() : "";
    try {
      const content = locationContent(point, {
        asset: step === "mine" ? "m.self" : "m.pin",
        text: text(formatGeoUri(point), description),
        description,
        ts: Date.now(),
      });
      const sendMessage = client.sendMessage as unknown as (
        roomId: string,
        content: Json,
      ) => Promise<unknown>;
      await sendMessage.call(client, roomId, content);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#problem.value = { key: "location.error.send", params: { message } };
      return false;
    } finally {
      this.#sending.value = false;
    }
  }
}
