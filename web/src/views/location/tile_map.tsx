/** @jsxImportSource preact */
/**
 * A small slippy map: the 256-pixel Web Mercator tiles around a point from the configured tile
 * source, a pin on the point (and the circle of its accuracy), zoom buttons and the source's
 * credit. As a picker it moves the point when clicked, dragged or steered with the arrow keys
 * (the pin stays in the middle and the map moves under it). When the tile under the pin cannot
 * be loaded, it says so over the map (a picker still places the pin without tiles) and tells its
 * owner, who may show the coordinates instead; tiles that failed are not drawn, so no broken
 * images show.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import {
  layoutView,
  type MapSettings,
  metresPerPixel,
  pointInView,
  TILE_SIZE,
  tileUrl,
} from "../../state/map_tiles.ts";
import { useApp } from "../context.ts";
import { PollsIcon } from "../polls/poll_icons.tsx";

/** The widest zoom out the maps allow (the whole of Europe fits). */
export const MIN_ZOOM = 3;
/** How long the tile under the pin may take before the map counts as unavailable. */
const TILE_TIMEOUT_MS = 15_000;

/** A point in degrees. */
export interface LatLon {
  latitude: number;
  longitude: number;
}

/** Props of {@link TileMap}. */
export interface TileMapProps {
  center: LatLon;
  zoom: number;
  settings: MapSettings;
  /** Height in pixels (the width follows the container). */
  height: number;
  /** Metres of uncertainty around the point. */
  accuracy?: number;
  /** The map's accessible name. */
  label: string;
  onZoom: (zoom: number) => void;
  /** Called once when the tile under the pin fails to load (or takes too long). */
  onFailed?: () => void;
  /** Makes the map a picker: clicks, drags and arrow keys move the point. */
  onMove?: (point: LatLon) => void;
  /** The id of the picker's instructions. */
  describedBy?: string;
}

const KEY_STEP = 64;

/** A slippy tile map centred on a point. */
export function TileMap(props: TileMapProps): JSX.Element {
  const { i18n } = useApp();
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<{ x: number; y: number } | null>(null);
  const start = useRef<{ x: number; y: number; id: number } | null>(null);
  const loaded = useRef(new Set<string>());
  const failedOnce = useRef(false);
  const [broken, setBroken] = useState<ReadonlySet<string>>(new Set());
  const [unavailable, setUnavailable] = useState(false);
  const { settings, zoom, height } = props;

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const measure = () => setWidth(Math.round(element.getBoundingClientRect().width));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const layout = layoutView(props.center, { zoom, width: Math.max(width, 1), height });
  const markerTile = layout.tiles.find((tile) =>
    tile.left <= layout.marker.left && layout.marker.left < tile.left + TILE_SIZE &&
    tile.top <= layout.marker.top && layout.marker.top < tile.top + TILE_SIZE
  );
  const markerUrl = markerTile ? tileUrl(settings.tileUrl, markerTile) : null;
  const fail = () => {
    setUnavailable(true);
    if (failedOnce.current) return;
    failedOnce.current = true;
    props.onFailed?.();
  };

  useEffect(() => {
    if (!markerUrl || width === 0) return;
    const timer = setTimeout(() => {
      if (!loaded.current.has(markerUrl)) fail();
    }, TILE_TIMEOUT_MS);
    return () => clearTimeout(timer);
  }, [markerUrl, width]);

  const moveBy = (dx: number, dy: number) => {
    props.onMove?.(pointInView(layout, {
      left: layout.marker.left + dx,
      top: layout.marker.top + dy,
    }, zoom));
  };
  const zoomTo = (next: number) =>
    props.onZoom(Math.max(MIN_ZOOM, Math.min(settings.maxZoom, next)));

  const picker = props.onMove !== undefined;
  const radius = props.accuracy ? props.accuracy / metresPerPixel(props.center.latitude, zoom) : 0;
  const offset = drag ?? { x: 0, y: 0 };

  const onKeyDown = (event: KeyboardEvent) => {
    const step = event.shiftKey ? KEY_STEP * 4 : KEY_STEP;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    if (picker && moves[event.key]) moveBy(...moves[event.key]);
    else if (event.key === "+" || event.key === "=") zoomTo(zoom + 1);
    else if (event.key === "-" || event.key === "_") zoomTo(zoom - 1);
    else return;
    event.preventDefault();
  };

  const pointer = picker
    ? {
      onPointerDown: (event: PointerEvent) => {
        if (event.button !== 0 || (event.target as Element).closest("button")) return;
        start.current = { x: event.clientX, y: event.clientY, id: event.pointerId };
        (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
      },
      onPointerMove: (event: PointerEvent) => {
        const from = start.current;
        if (!from || from.id !== event.pointerId) return;
        const moved = { x: event.clientX - from.x, y: event.clientY - from.y };
        if (drag || Math.hypot(moved.x, moved.y) > 4) setDrag(moved);
      },
      onPointerUp: (event: PointerEvent) => {
        const from = start.current;
        start.current = null;
        if (!from || from.id !== event.pointerId) return;
        const moved = { x: event.clientX - from.x, y: event.clientY - from.y };
        setDrag(null);
        if (Math.hypot(moved.x, moved.y) > 4) moveBy(-moved.x, -moved.y);
        else {
          const rect = (event.currentTarget as HTMLElement).getBoundingClientRect();
          moveBy(
            event.clientX - rect.left - layout.marker.left,
            event.clientY - rect.top - layout.marker.top,
          );
        }
      },
      onPointerCancel: () => {
        start.current = null;
        setDrag(null);
      },
    }
    : {};

  return (
    <div class="flex flex-col gap-1">
      <div
        ref={box}
        role={picker ? "application" : "group"}
        aria-label={props.label}
        aria-describedby={props.describedBy}
        tabIndex={picker ? 0 : undefined}
        onKeyDown={picker ? onKeyDown : undefined}
        class={`relative w-full touch-none select-none overflow-hidden rounded-lg bg-slate-200 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:bg-slate-700 ${
          picker ? (drag ? "cursor-grabbing" : "cursor-crosshair") : ""
        }`}
        style={{ height: `${height}px` }}
        {...pointer}
      >
        {width > 0 && (
          <div
            class="absolute inset-0 dark:brightness-[0.85]"
            style={{ transform: `translate(${offset.x}px, ${offset.y}px)` }}
          >
            {layout.tiles.map((tile) => {
              const url = tileUrl(settings.tileUrl, tile);
              if (broken.has(url)) return null;
              return (
                <img
                  key={`${url}@${tile.left},${tile.top}`}
                  src={url}
                  alt=""
                  draggable={false}
                  decoding="async"
                  referrerpolicy="no-referrer"
                  class="pointer-events-none absolute max-w-none"
                  style={{
                    left: `${tile.left}px`,
                    top: `${tile.top}px`,
                    width: `${TILE_SIZE}px`,
                    height: `${TILE_SIZE}px`,
                  }}
                  onLoad={() => {
                    loaded.current.add(url);
                    if (url === markerUrl) setUnavailable(false);
                  }}
                  onError={() => {
                    setBroken((set) => new Set(set).add(url));
                    if (url === markerUrl) fail();
                  }}
                />
              );
            })}
          </div>
        )}
        {unavailable && (
          <p
            role="status"
            class="absolute inset-x-2 bottom-2 rounded-md bg-white/95 px-3 py-2 text-sm text-slate-900 shadow dark:bg-slate-900/95 dark:text-slate-100"
          >
            {picker ? i18n.t("location.mapUnavailablePicker") : i18n.t("location.mapUnavailable")}
          </p>
        )}
        {radius >= 6 && radius < Math.max(width, height) && (
          <span
            aria-hidden="true"
            class="pointer-events-none absolute rounded-full border-2 border-sky-700 bg-sky-500/20 dark:border-sky-300"
            style={{
              left: `${layout.marker.left - radius}px`,
              top: `${layout.marker.top - radius}px`,
              width: `${radius * 2}px`,
              height: `${radius * 2}px`,
            }}
          />
        )}
        <span
          aria-hidden="true"
          class="pointer-events-none absolute text-red-700 drop-shadow dark:text-red-400"
          style={{ left: `${layout.marker.left - 16}px`, top: `${layout.marker.top - 30}px` }}
        >
          <svg viewBox="0 0 24 24" class="h-8 w-8">
            <path
              fill="currentColor"
              stroke="white"
              stroke-width="1.5"
              d="M12 22s-7-6.4-7-12a7 7 0 0 1 14 0c0 5.6-7 12-7 12z"
            />
            <circle cx="12" cy="10" r="2.6" fill="white" />
          </svg>
        </span>
        <div class="absolute right-2 top-2 flex flex-col overflow-hidden rounded-md border border-slate-400 bg-white shadow dark:border-slate-500 dark:bg-slate-800">
          <ZoomButton
            label={i18n.t("location.zoomIn")}
            icon="plus"
            disabled={zoom >= settings.maxZoom}
            onClick={() => zoomTo(zoom + 1)}
          />
          <ZoomButton
            label={i18n.t("location.zoomOut")}
            icon="minus"
            disabled={zoom <= MIN_ZOOM}
            onClick={() => zoomTo(zoom - 1)}
          />
        </div>
      </div>
      {settings.attribution && (
        <p class="text-xs text-slate-700 dark:text-slate-300">{settings.attribution}</p>
      )}
    </div>
  );
}

function ZoomButton(props: {
  label: string;
  icon: "plus" | "minus";
  disabled: boolean;
  onClick: () => void;
}): JSX.Element {
  return (
    <button
      type="button"
      class="inline-flex h-9 w-9 items-center justify-center text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-40 dark:text-slate-100 dark:hover:bg-slate-700"
      aria-label={props.label}
      title={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <PollsIcon name={props.icon} class="h-4 w-4" />
    </button>
  );
}

/** Latitude and longitude as people read them: five decimals (about a metre), dot-separated. */
export function formatCoordinates(point: LatLon): { latitude: string; longitude: string } {
  return { latitude: point.latitude.toFixed(5), longitude: point.longitude.toFixed(5) };
}
