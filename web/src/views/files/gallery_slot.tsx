/** @jsxImportSource preact */
/**
 * Where a room's files panel goes: it loads room_gallery.tsx (its own chunk) the first time the
 * panel opens and hands it the media loading, formats and icons the timeline already has.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import { formatBytes, formatRecent } from "../../i18n/format.ts";
import { loadMedia, saveBlob } from "../../matrix/media.ts";
import { useApp } from "../context.ts";
import { Icon, PlayIcon, SMALL_BUTTON } from "./file_icons.tsx";
import { readFileContent, useMedia } from "./use_media.ts";

type GalleryModule = typeof import("./room_gallery.tsx");
let galleryLoad: Promise<GalleryModule> | null = null;

/** The files panel of `room`, once its chunk has loaded. */
export function GallerySlot(props: { room: Room; onClose: () => void }): JSX.Element | null {
  const app = useApp();
  const client = app.session.clientReady.value;
  const [module, setModule] = useState<GalleryModule | null>(null);
  useEffect(() => {
    let live = true;
    galleryLoad ??= import("./room_gallery.tsx");
    galleryLoad.then((loaded) => live && setModule(loaded), (err) => {
      galleryLoad = null;
      console.warn("gemeng: the files panel did not load", err);
      props.onClose();
    });
    return () => {
      live = false;
    };
  }, []);
  if (!module || !client) return null;
  const locale = app.i18n.locale.value;
  return (
    <module.RoomGallery
      client={client}
      room={props.room}
      onClose={props.onClose}
      tools={{
        read: readFileContent,
        useMedia,
        loadMedia,
        saveBlob,
        format: {
          bytes: (n) => formatBytes(locale, n),
          date: (ts) => formatRecent(locale, ts),
        },
        icons: {
          file: <Icon name="file" class="h-7 w-7" />,
          download: <Icon name="download" class="h-4 w-4" />,
          play: <PlayIcon playing={false} class="h-5 w-5" />,
        },
        buttonClass: SMALL_BUTTON,
      }}
    />
  );
}
