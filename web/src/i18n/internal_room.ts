/**
 * Messages of the room settings' "Internal room" switch (`lu.gemeng.internal`). Like
 * message_more.ts's, they are not merged into the catalogues: they load with the settings
 * dialog's chunk.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "internal.title": "Internal room",
  "internal.switch": "Only people from {server}",
  "internal.explain":
    "When this is on, people with an account on another server cannot join this room or be invited to it. People from other servers who are already members stay until they are removed.",
  "internal.on": "This room is internal: only people from {server} can join.",
  "internal.off":
    "People from other servers can join this room when they are invited or when it is public.",
  "internal.needPower": "Your role in this room does not allow changing this.",
  "internal.foreign":
    "This room was created on another server: only the people of that server can make it internal.",
};

/** A key of these messages. */
export type InternalKey = keyof typeof en;

const fr: Readonly<Record<InternalKey, string>> = {
  "internal.title": "Salon interne",
  "internal.switch": "Seulement les personnes de {server}",
  "internal.explain":
    "Lorsque cette option est activée, les personnes ayant un compte sur un autre serveur ne peuvent ni rejoindre ce salon ni y être invitées. Les personnes d’autres serveurs qui en sont déjà membres restent jusqu’à ce qu’on les retire.",
  "internal.on": "Ce salon est interne : seules les personnes de {server} peuvent le rejoindre.",
  "internal.off":
    "Les personnes d’autres serveurs peuvent rejoindre ce salon lorsqu’elles sont invitées ou lorsqu’il est public.",
  "internal.needPower": "Votre rôle dans ce salon ne permet pas de modifier ceci.",
  "internal.foreign":
    "Ce salon a été créé sur un autre serveur : seules les personnes de ce serveur peuvent le rendre interne.",
};

const de: Readonly<Record<InternalKey, string>> = {
  "internal.title": "Interner Raum",
  "internal.switch": "Nur Personen von {server}",
  "internal.explain":
    "Wenn dies eingeschaltet ist, können Personen mit einem Konto auf einem anderen Server diesem Raum weder beitreten noch in ihn eingeladen werden. Personen anderer Server, die schon Mitglied sind, bleiben, bis sie entfernt werden.",
  "internal.on": "Dieser Raum ist intern: Nur Personen von {server} können beitreten.",
  "internal.off":
    "Personen anderer Server können diesem Raum beitreten, wenn sie eingeladen werden oder wenn er öffentlich ist.",
  "internal.needPower": "Ihre Rolle in diesem Raum erlaubt es nicht, das zu ändern.",
  "internal.foreign":
    "Dieser Raum wurde auf einem anderen Server erstellt: Nur die Personen dieses Servers können ihn intern machen.",
};

const lb: Readonly<Record<InternalKey, string>> = {
  "internal.title": "Internen Raum",
  "internal.switch": "Just Leit vun {server}",
  "internal.explain":
    "Wann dat hei un ass, kënne Leit mat engem Kont op engem anere Server dësem Raum net bäitrieden an net dohinner invitéiert ginn. Leit vun anere Serveren, déi schonn Member sinn, bleiwen, bis se ewechgeholl ginn.",
  "internal.on": "Dëse Raum ass intern: just Leit vun {server} kënne bäitrieden.",
  "internal.off":
    "Leit vun anere Serveren kënnen dësem Raum bäitrieden, wa se invitéiert ginn oder wann en ëffentlech ass.",
  "internal.needPower": "Är Roll an dësem Raum erlaabt et net, dat z’änneren.",
  "internal.foreign":
    "Dëse Raum gouf op engem anere Server ugeluecht: just d’Leit vun deem Server kënnen e intern maachen.",
};

/** The messages in each language. */
export const internalMessages: Readonly<
  Record<Locale, Readonly<Record<InternalKey, string>>>
> = { en, fr, de, lb };

/** The message for `key` in `locale`, `{server}` placeholders filled. */
export function internalText(locale: Locale, key: InternalKey, params?: MessageParams): string {
  const template = internalMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
