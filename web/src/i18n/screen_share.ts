/**
 * Messages of screen sharing in a call. Like file_preview.ts's, they are not merged into the
 * catalogues: they load with screen sharing's chunk, when a call is on screen.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "share.start": "Share your screen",
  "share.stop": "Stop sharing your screen",
  "share.sharing": "You are sharing your screen",
  "share.remote": "Screen shared by {name}",
  "share.failed": "Your screen could not be shared.",
};

/** A key of these messages. */
export type ShareKey = keyof typeof en;

const fr: Readonly<Record<ShareKey, string>> = {
  "share.start": "Partager votre écran",
  "share.stop": "Arrêter de partager votre écran",
  "share.sharing": "Vous partagez votre écran",
  "share.remote": "Écran partagé par {name}",
  "share.failed": "Votre écran n’a pas pu être partagé.",
};

const de: Readonly<Record<ShareKey, string>> = {
  "share.start": "Bildschirm teilen",
  "share.stop": "Bildschirmfreigabe beenden",
  "share.sharing": "Sie teilen Ihren Bildschirm",
  "share.remote": "Bildschirm, den {name} teilt",
  "share.failed": "Ihr Bildschirm konnte nicht geteilt werden.",
};

const lb: Readonly<Record<ShareKey, string>> = {
  "share.start": "Ären Ecran deelen",
  "share.stop": "Ären Ecran net méi deelen",
  "share.sharing": "Dir deelt Ären Ecran",
  "share.remote": "Ecran, deen {name} deelt",
  "share.failed": "Ären Ecran konnt net gedeelt ginn.",
};

/** The messages in each language. */
export const shareMessages: Readonly<Record<Locale, Readonly<Record<ShareKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function shareText(locale: Locale, key: ShareKey, params?: MessageParams): string {
  const template = shareMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
