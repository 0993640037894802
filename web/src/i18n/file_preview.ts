/**
 * Messages of the dialog that previews files before they are sent. Like message_more.ts's, they
 * are not merged into the catalogues: they load with the dialog's chunk, which keeps them out of
 * the JavaScript the first screen needs.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "preview.title": "Send a file",
  "preview.titleMany": "Send {count} files",
  "preview.list": "Files to send",
  "preview.thumbnail": "Preview of {name}",
  "preview.caption": "Caption (optional)",
  "preview.captionFirst": "Caption, sent with the first file (optional)",
  "preview.send": "Send",
  "preview.cancel": "Cancel",
};

/** A key of these messages. */
export type PreviewKey = keyof typeof en;

const fr: Readonly<Record<PreviewKey, string>> = {
  "preview.title": "Envoyer un fichier",
  "preview.titleMany": "Envoyer {count} fichiers",
  "preview.list": "Fichiers à envoyer",
  "preview.thumbnail": "Aperçu : {name}",
  "preview.caption": "Légende (facultative)",
  "preview.captionFirst": "Légende, envoyée avec le premier fichier (facultative)",
  "preview.send": "Envoyer",
  "preview.cancel": "Annuler",
};

const de: Readonly<Record<PreviewKey, string>> = {
  "preview.title": "Datei senden",
  "preview.titleMany": "{count} Dateien senden",
  "preview.list": "Zu sendende Dateien",
  "preview.thumbnail": "Vorschau: {name}",
  "preview.caption": "Beschreibung (optional)",
  "preview.captionFirst": "Beschreibung, mit der ersten Datei gesendet (optional)",
  "preview.send": "Senden",
  "preview.cancel": "Abbrechen",
};

const lb: Readonly<Record<PreviewKey, string>> = {
  "preview.title": "Fichier schécken",
  "preview.titleMany": "{count} Fichiere schécken",
  "preview.list": "Fichieren, déi geschéckt ginn",
  "preview.thumbnail": "Virschau: {name}",
  "preview.caption": "Beschreiwung (fakultativ)",
  "preview.captionFirst": "Beschreiwung, mam éischte Fichier geschéckt (fakultativ)",
  "preview.send": "Schécken",
  "preview.cancel": "Ofbriechen",
};

/** The messages in each language. */
export const previewMessages: Readonly<Record<Locale, Readonly<Record<PreviewKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function previewText(locale: Locale, key: PreviewKey, params?: MessageParams): string {
  const template = previewMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
