/**
 * Messages of a room's files panel (the gallery of its images, videos, documents and audio).
 * Like file_preview.ts's, they are not merged into the catalogues: they load with the panel's
 * chunk, which keeps them out of the JavaScript the first screen needs.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "gallery.title": "Files in this conversation",
  "gallery.close": "Close the files",
  "gallery.kinds": "Kinds of files",
  "gallery.media": "Images and videos",
  "gallery.documents": "Documents and audio",
  "gallery.open": "Open {name}",
  "gallery.download": "Download",
  "gallery.downloadName": "Download {name}",
  "gallery.closeViewer": "Close",
  "gallery.loading": "Loading files…",
  "gallery.older": "Load older files",
  "gallery.emptyMedia": "No images or videos yet.",
  "gallery.emptyDocuments": "No documents or audio yet.",
  "gallery.failed": "The files could not be loaded.",
  "gallery.mediaFailed": "This file could not be loaded.",
  "gallery.retry": "Try again",
  "gallery.start": "That is everything since the conversation began.",
};

/** A key of these messages. */
export type GalleryKey = keyof typeof en;

const fr: Readonly<Record<GalleryKey, string>> = {
  "gallery.title": "Fichiers de cette conversation",
  "gallery.close": "Fermer les fichiers",
  "gallery.kinds": "Types de fichiers",
  "gallery.media": "Images et vidéos",
  "gallery.documents": "Documents et sons",
  "gallery.open": "Ouvrir {name}",
  "gallery.download": "Télécharger",
  "gallery.downloadName": "Télécharger {name}",
  "gallery.closeViewer": "Fermer",
  "gallery.loading": "Chargement des fichiers…",
  "gallery.older": "Charger des fichiers plus anciens",
  "gallery.emptyMedia": "Pas encore d’images ni de vidéos.",
  "gallery.emptyDocuments": "Pas encore de documents ni de sons.",
  "gallery.failed": "Les fichiers n’ont pas pu être chargés.",
  "gallery.mediaFailed": "Ce fichier n’a pas pu être chargé.",
  "gallery.retry": "Réessayer",
  "gallery.start": "C’est tout depuis le début de la conversation.",
};

const de: Readonly<Record<GalleryKey, string>> = {
  "gallery.title": "Dateien dieser Unterhaltung",
  "gallery.close": "Dateien schließen",
  "gallery.kinds": "Dateiarten",
  "gallery.media": "Bilder und Videos",
  "gallery.documents": "Dokumente und Tonaufnahmen",
  "gallery.open": "{name} öffnen",
  "gallery.download": "Herunterladen",
  "gallery.downloadName": "{name} herunterladen",
  "gallery.closeViewer": "Schließen",
  "gallery.loading": "Dateien werden geladen…",
  "gallery.older": "Ältere Dateien laden",
  "gallery.emptyMedia": "Noch keine Bilder oder Videos.",
  "gallery.emptyDocuments": "Noch keine Dokumente oder Tonaufnahmen.",
  "gallery.failed": "Die Dateien konnten nicht geladen werden.",
  "gallery.mediaFailed": "Diese Datei konnte nicht geladen werden.",
  "gallery.retry": "Erneut versuchen",
  "gallery.start": "Das ist alles seit Beginn der Unterhaltung.",
};

const lb: Readonly<Record<GalleryKey, string>> = {
  "gallery.title": "Fichieren aus dësem Gespréich",
  "gallery.close": "Fichieren zoumaachen",
  "gallery.kinds": "Zorte vu Fichieren",
  "gallery.media": "Biller a Videoen",
  "gallery.documents": "Dokumenter an Tounopnamen",
  "gallery.open": "{name} opmaachen",
  "gallery.download": "Eroflueden",
  "gallery.downloadName": "{name} eroflueden",
  "gallery.closeViewer": "Zoumaachen",
  "gallery.loading": "Fichiere ginn gelueden…",
  "gallery.older": "Méi al Fichiere lueden",
  "gallery.emptyMedia": "Nach keng Biller oder Videoen.",
  "gallery.emptyDocuments": "Nach keng Dokumenter oder Tounopnamen.",
  "gallery.failed": "D’Fichiere konnten net gelueden ginn.",
  "gallery.mediaFailed": "Dëse Fichier konnt net gelueden ginn.",
  "gallery.retry": "Nach eng Kéier probéieren",
  "gallery.start": "Dat ass alles zanter dem Ufank vum Gespréich.",
};

/** The messages in each language. */
export const galleryMessages: Readonly<Record<Locale, Readonly<Record<GalleryKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function galleryText(locale: Locale, key: GalleryKey, params?: MessageParams): string {
  const template = galleryMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
