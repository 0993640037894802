/**
 * Messages of the room settings' "Internal room" switch (`lu.gemeng.internal`). Like
 * message_more.ts's, they are not merged into the catalogues: they load with the settings
 * dialog's chunk.
 *
 * @module
 */

import type { Locale } from "./index.ts";

const en = {
  "internal.switch": "Internal room: only people from {server}",
  "internal.explain": "People with an account on another server cannot join or be invited.",
  "internal.foreign": "Created on another server: only its people can change this.",
};

/** A key of these messages. */
export type InternalKey = keyof typeof en;

const fr: Readonly<Record<InternalKey, string>> = {
  "internal.switch": "Salon interne : seulement les personnes de {server}",
  "internal.explain":
    "Les personnes ayant un compte sur un autre serveur ne peuvent ni rejoindre ni être invitées.",
  "internal.foreign": "Créé sur un autre serveur : seules ses personnes peuvent modifier ceci.",
};

const de: Readonly<Record<InternalKey, string>> = {
  "internal.switch": "Interner Raum: nur Personen von {server}",
  "internal.explain":
    "Personen mit einem Konto auf einem anderen Server können weder beitreten noch eingeladen werden.",
  "internal.foreign": "Auf einem anderen Server erstellt: Nur dessen Personen können das ändern.",
};

const lb: Readonly<Record<InternalKey, string>> = {
  "internal.switch": "Internen Raum: just Leit vun {server}",
  "internal.explain":
    "Leit mat engem Kont op engem anere Server kënnen net bäitrieden an net invitéiert ginn.",
  "internal.foreign": "Op engem anere Server ugeluecht: just seng Leit kënnen dat änneren.",
};

/** The messages in each language. */
export const internalMessages: Readonly<
  Record<Locale, Readonly<Record<InternalKey, string>>>
> = { en, fr, de, lb };

/** The message for `key` in `locale`, with `{server}` filled in. */
export function internalText(locale: Locale, key: InternalKey, server = ""): string {
  return internalMessages[locale][key].replace("{server}", server);
}
