/**
 * Messages of the search panel. Like message_more.ts's, they are not merged into the
 * catalogues: they load with the panel's chunk, which keeps them out of the JavaScript the
 * first screen needs. The entries that open the panel are in rooms.ts.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "search.title.all": "Search messages",
  "search.title.room": "Search in {room}",
  "search.field": "Words to find",
  "search.submit": "Search",
  "search.close": "Close",
  "search.localNote":
    "Encrypted conversations are searched on this device only, among the messages it has received and decrypted. Your search words for them are not sent to the server.",
  "search.busy": "Searching…",
  "search.none": "No messages found.",
  "search.failed": "The search did not work. Please try again.",
  "search.localOnly": "The server could not be reached. Messages found on this device: {count}",
  "search.count": "Messages found: {count}",
  "search.more": "Show more results",
  "search.results": "Results",
  "search.local": "Found on this device",
};

/** A key of these messages. */
export type SearchKey = keyof typeof en;

const fr: Readonly<Record<SearchKey, string>> = {
  "search.title.all": "Rechercher dans les messages",
  "search.title.room": "Rechercher dans {room}",
  "search.field": "Mots à trouver",
  "search.submit": "Rechercher",
  "search.close": "Fermer",
  "search.localNote":
    "Les conversations chiffrées sont cherchées sur cet appareil seulement, parmi les messages qu’il a reçus et déchiffrés. Vos mots de recherche pour elles ne sont pas envoyés au serveur.",
  "search.busy": "Recherche en cours…",
  "search.none": "Aucun message trouvé.",
  "search.failed": "La recherche n’a pas abouti. Veuillez réessayer.",
  "search.localOnly": "Le serveur est injoignable. Messages trouvés sur cet appareil : {count}",
  "search.count": "Messages trouvés : {count}",
  "search.more": "Afficher plus de résultats",
  "search.results": "Résultats",
  "search.local": "Trouvé sur cet appareil",
};

const de: Readonly<Record<SearchKey, string>> = {
  "search.title.all": "Nachrichten durchsuchen",
  "search.title.room": "In {room} suchen",
  "search.field": "Gesuchte Wörter",
  "search.submit": "Suchen",
  "search.close": "Schließen",
  "search.localNote":
    "Verschlüsselte Unterhaltungen werden nur auf diesem Gerät durchsucht, in den Nachrichten, die es empfangen und entschlüsselt hat. Ihre Suchwörter dafür werden nicht an den Server gesendet.",
  "search.busy": "Suche läuft…",
  "search.none": "Keine Nachrichten gefunden.",
  "search.failed": "Die Suche hat nicht funktioniert. Bitte versuchen Sie es erneut.",
  "search.localOnly":
    "Der Server war nicht erreichbar. Auf diesem Gerät gefundene Nachrichten: {count}",
  "search.count": "Gefundene Nachrichten: {count}",
  "search.more": "Weitere Ergebnisse zeigen",
  "search.results": "Ergebnisse",
  "search.local": "Auf diesem Gerät gefunden",
};

const lb: Readonly<Record<SearchKey, string>> = {
  "search.title.all": "Messagen duerchsichen",
  "search.title.room": "An {room} sichen",
  "search.field": "Gesichte Wierder",
  "search.submit": "Sichen",
  "search.close": "Zoumaachen",
  "search.localNote":
    "Verschlësselt Gespréicher ginn nëmmen op dësem Apparat duerchsicht, an de Messagen, déi en empfaangen an entschlësselt huet. Är Sichwierder dofir ginn net un de Server geschéckt.",
  "search.busy": "Et gëtt gesicht…",
  "search.none": "Keng Message fonnt.",
  "search.failed": "D’Sich huet net geklappt. Probéiert w.e.g. nach eng Kéier.",
  "search.localOnly": "De Server war net ze erreechen. Op dësem Apparat fonnt Messagen: {count}",
  "search.count": "Fonnt Messagen: {count}",
  "search.more": "Méi Resultater weisen",
  "search.results": "Resultater",
  "search.local": "Op dësem Apparat fonnt",
};

/** The messages in each language. */
export const searchMessages: Readonly<Record<Locale, Readonly<Record<SearchKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function searchText(locale: Locale, key: SearchKey, params?: MessageParams): string {
  const template = searchMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
