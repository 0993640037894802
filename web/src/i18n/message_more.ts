/**
 * Messages of a message's "More actions" list and its Forward and Report dialogs. Like
 * account.ts's, they are not merged into the catalogues: they load with the list's chunk, which
 * keeps them out of the JavaScript the first screen needs.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "more.action.forward": "Forward",
  "more.action.pin": "Pin",
  "more.action.unpin": "Unpin",
  "more.action.quote": "Quote",
  "more.action.report": "Report",
  "more.pin.denied": "You are not allowed to pin messages in this conversation.",
  "more.pin.failed": "The pinned messages could not be changed.",
  "more.forward.title": "Forward the message",
  "more.forward.choose": "Choose the conversation to send it to.",
  "more.forward.none": "There is no other conversation.",
  "more.forward.failed": "The message was not forwarded.",
  "more.forward.done": "Forwarded to {room}.",
  "more.report.title": "Report this message",
  "more.report.body": "The server's administrators will see this message and your reason.",
  "more.report.reason": "Reason",
  "more.report.failed": "The report was not sent.",
  "more.report.done": "Thank you, the report was sent.",
  "more.action.ignore": "Ignore the sender",
  "more.ignore.title": "Ignore {name}?",
  "more.ignore.body":
    "You will no longer see messages or invitations from {name}. You can undo this in the member list of a conversation.",
  "more.ignore.confirm": "Ignore",
  "more.ignore.failed": "{name} could not be ignored. Please try again.",
};

/** A key of these messages. */
export type MoreKey = keyof typeof en;

const fr: Readonly<Record<MoreKey, string>> = {
  "more.action.forward": "Transférer",
  "more.action.pin": "Épingler",
  "more.action.unpin": "Désépingler",
  "more.action.quote": "Citer",
  "more.action.report": "Signaler",
  "more.pin.denied": "Vous n’avez pas le droit d’épingler des messages dans cette conversation.",
  "more.pin.failed": "Les messages épinglés n’ont pas pu être modifiés.",
  "more.forward.title": "Transférer le message",
  "more.forward.choose": "Choisissez la conversation à laquelle l’envoyer.",
  "more.forward.none": "Il n’y a pas d’autre conversation.",
  "more.forward.failed": "Le message n’a pas été transféré.",
  "more.forward.done": "Transféré à {room}.",
  "more.report.title": "Signaler ce message",
  "more.report.body": "Les administrateurs du serveur verront ce message et votre motif.",
  "more.report.reason": "Motif",
  "more.report.failed": "Le signalement n’a pas été envoyé.",
  "more.report.done": "Merci, le signalement a été envoyé.",
  "more.action.ignore": "Ignorer l’expéditeur",
  "more.ignore.title": "Ignorer {name} ?",
  "more.ignore.body":
    "Vous ne verrez plus les messages ni les invitations de {name}. Vous pouvez annuler ceci dans la liste des membres d’une conversation.",
  "more.ignore.confirm": "Ignorer",
  "more.ignore.failed": "Impossible d’ignorer {name}. Veuillez réessayer.",
};

const de: Readonly<Record<MoreKey, string>> = {
  "more.action.forward": "Weiterleiten",
  "more.action.pin": "Anheften",
  "more.action.unpin": "Lösen",
  "more.action.quote": "Zitieren",
  "more.action.report": "Melden",
  "more.pin.denied": "Sie dürfen in dieser Unterhaltung keine Nachrichten anheften.",
  "more.pin.failed": "Die angehefteten Nachrichten konnten nicht geändert werden.",
  "more.forward.title": "Nachricht weiterleiten",
  "more.forward.choose": "Wählen Sie die Unterhaltung, an die sie gehen soll.",
  "more.forward.none": "Es gibt keine andere Unterhaltung.",
  "more.forward.failed": "Die Nachricht wurde nicht weitergeleitet.",
  "more.forward.done": "An {room} weitergeleitet.",
  "more.report.title": "Diese Nachricht melden",
  "more.report.body": "Die Administratoren des Servers sehen diese Nachricht und Ihre Begründung.",
  "more.report.reason": "Begründung",
  "more.report.failed": "Die Meldung wurde nicht gesendet.",
  "more.report.done": "Danke, die Meldung wurde gesendet.",
  "more.action.ignore": "Absender ignorieren",
  "more.ignore.title": "{name} ignorieren?",
  "more.ignore.body":
    "Sie sehen keine Nachrichten und Einladungen von {name} mehr. Sie können dies in der Mitgliederliste einer Unterhaltung rückgängig machen.",
  "more.ignore.confirm": "Ignorieren",
  "more.ignore.failed": "{name} konnte nicht ignoriert werden. Bitte versuchen Sie es erneut.",
};

const lb: Readonly<Record<MoreKey, string>> = {
  "more.action.forward": "Weiderschécken",
  "more.action.pin": "Upinnen",
  "more.action.unpin": "Lassmaachen",
  "more.action.quote": "Zitéieren",
  "more.action.report": "Mellen",
  "more.pin.denied": "Dir däerft an dësem Gespréich keng Messagen upinnen.",
  "more.pin.failed": "D’ugepinnte Messagen konnten net geännert ginn.",
  "more.forward.title": "Message weiderschécken",
  "more.forward.choose": "Wielt d’Gespréich, un dat en soll goen.",
  "more.forward.none": "Et gëtt keen anert Gespréich.",
  "more.forward.failed": "De Message gouf net weidergeschéckt.",
  "more.forward.done": "Un {room} weidergeschéckt.",
  "more.report.title": "Dëse Message mellen",
  "more.report.body": "D’Administrateure vum Server gesinn dëse Message an Äre Grond.",
  "more.report.reason": "Grond",
  "more.report.failed": "D’Meldung gouf net geschéckt.",
  "more.report.done": "Merci, d’Meldung gouf geschéckt.",
  "more.action.ignore": "Den Ofsender ignoréieren",
  "more.ignore.title": "{name} ignoréieren?",
  "more.ignore.body":
    "Dir gesitt keng Messagen an Invitatiounen vun {name} méi. Dir kënnt dat an der Memberlëscht vun engem Gespréich réckgängeg maachen.",
  "more.ignore.confirm": "Ignoréieren",
  "more.ignore.failed": "{name} konnt net ignoréiert ginn. Probéiert w.e.g. nach eng Kéier.",
};

/** The messages in each language. */
export const moreMessages: Readonly<Record<Locale, Readonly<Record<MoreKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function moreText(locale: Locale, key: MoreKey, params?: MessageParams): string {
  const template = moreMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
