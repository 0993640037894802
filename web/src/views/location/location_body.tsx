/** @jsxImportSource preact */
/**
 * A shared location in the timeline: whose place (or which pin) it is, a small map with the
 * pin, the coordinates and their accuracy, and links to open the place in a web map or a maps
 * app (Geoportail.lu for places in Luxembourg unless the server names another web map). When
 * the tiles cannot be loaded (offline, blocked), a message and the coordinates take the map's
 * place; the `geo:` URI is only ever a link's target, never shown as text.
 *
 * @module
 */

import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { MatrixEvent, Room } from "matrix-js-sdk";
import { DEFAULT_ZOOM, locationModel, parseLocationContent } from "../../state/location.ts";
import { formatGeoUri, webMapUrl } from "../../state/geo_uri.ts";
import { useApp } from "../context.ts";
import { PollsIcon } from "../polls/poll_icons.tsx";
import { formatCoordinates, TileMap } from "./tile_map.tsx";

const LINK =
  "font-semibold text-sky-800 underline underline-offset-2 hover:text-sky-900 dark:text-sky-300 dark:hover:text-sky-200";

/** A shared location in the timeline, on a map. */
export function LocationBody(props: { event: MatrixEvent; room: Room }): JSX.Element | null {
  const app = useApp();
  const { i18n } = app;
  const model = locationModel(app);
  const settings = model.settings.value;
  const content = props.event.getContent();
  const shared = useMemo(() => parseLocationContent(content), [content]);
  const [zoom, setZoom] = useState(Math.min(DEFAULT_ZOOM, settings.maxZoom));
  // Failure belongs to a tile source: a new one from /config.json gets its own chance.
  const [failedSource, setFailedSource] = useState<string | null>(null);
  const failed = failedSource === settings.tileUrl;

  if (!shared) {
    return (
      <p class="text-sm italic text-slate-700 dark:text-slate-300">
        {typeof content.body === "string" && content.body
          ? content.body
          : i18n.t("location.invalid")}
      </p>
    );
  }
  const { point } = shared;
  const sender = props.event.getSender() ?? "";
  const title = shared.asset === "m.self"
    ? i18n.t("location.of", { name: props.room.getMember(sender)?.name ?? sender })
    : shared.description ?? i18n.t("location.pinned");
  const coords = i18n.t("location.coordinates", formatCoordinates(point));
  const accuracy = point.accuracy !== undefined && point.accuracy > 0
    ? i18n.t("location.accuracy", { metres: Math.round(point.accuracy) })
    : null;
  const geoUri = formatGeoUri(point);

  return (
    <figure class="flex w-full max-w-md flex-col gap-2 rounded-xl border border-slate-300 bg-white p-2 text-slate-900 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100">
      {failed
        ? (
          <div class="flex items-start gap-2 rounded-lg bg-slate-100 p-3 dark:bg-slate-800">
            <PollsIcon name="pin" class="mt-0.5 h-5 w-5 shrink-0 text-red-700 dark:text-red-400" />
            <div class="flex min-w-0 flex-col gap-1 text-sm">
              <p>{i18n.t("location.mapUnavailable")}</p>
              <p class="font-semibold tabular-nums">{coords}</p>
            </div>
          </div>
        )
        : !model.ready.value
        ? <div class="h-[180px] rounded-lg bg-slate-200 dark:bg-slate-700" />
        : (
          <TileMap
            key={settings.tileUrl}
            center={point}
            zoom={zoom}
            settings={settings}
            height={180}
            accuracy={point.accuracy}
            label={i18n.t("location.map")}
            onZoom={setZoom}
            onFailed={() => setFailedSource(settings.tileUrl)}
          />
        )}
      <figcaption class="flex flex-col gap-1 px-1 text-sm">
        <span class="font-semibold break-words">{title}</span>
        {shared.asset === "m.self" && shared.description && (
          <span class="break-words">{shared.description}</span>
        )}
        {!failed && (
          <span class="text-slate-700 tabular-nums dark:text-slate-300">
            {accuracy
              ? i18n.t("location.coordinatesAccuracy", { coordinates: coords, accuracy })
              : coords}
          </span>
        )}
        <span class="flex flex-wrap gap-x-4 gap-y-1">
          <a
            href={webMapUrl(point, zoom, settings.linkUrl)}
            target="_blank"
            rel="noopener noreferrer"
            class={LINK}
          >
            {i18n.t("location.openInMap")}
          </a>
          <a href={geoUri} class={LINK}>{i18n.t("location.openGeo")}</a>
        </span>
      </figcaption>
    </figure>
  );
}
