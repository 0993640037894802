/**
 * Messages of reporting a person from the room's member list. Like message_more.ts's, they are
 * not merged into the catalogues: they load with the room dialogs' chunk.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "memberReport.action": "Report",
  "memberReport.actionLabel": "Report {name}",
  "memberReport.title": "Report {name}",
  "memberReport.body":
    "The server's administrators will see whom you reported and your reason. The person is not told.",
  "memberReport.reason": "Reason",
  "memberReport.send": "Send report",
  "memberReport.close": "Close",
  "memberReport.done": "Thank you, the report was sent.",
  "memberReport.failed": "The report was not sent.",
  "memberReport.elsewhere": "This server takes reports about its own users only.",
};

/** A key of these messages. */
export type MemberReportKey = keyof typeof en;

const fr: Readonly<Record<MemberReportKey, string>> = {
  "memberReport.action": "Signaler",
  "memberReport.actionLabel": "Signaler {name}",
  "memberReport.title": "Signaler {name}",
  "memberReport.body":
    "Les administrateurs du serveur verront qui vous avez signalé et votre motif. La personne n’est pas prévenue.",
  "memberReport.reason": "Motif",
  "memberReport.send": "Envoyer le signalement",
  "memberReport.close": "Fermer",
  "memberReport.done": "Merci, le signalement a été envoyé.",
  "memberReport.failed": "Le signalement n’a pas été envoyé.",
  "memberReport.elsewhere":
    "Ce serveur ne reçoit des signalements que sur ses propres utilisateurs.",
};

const de: Readonly<Record<MemberReportKey, string>> = {
  "memberReport.action": "Melden",
  "memberReport.actionLabel": "{name} melden",
  "memberReport.title": "{name} melden",
  "memberReport.body":
    "Die Administratoren des Servers sehen, wen Sie gemeldet haben, und Ihre Begründung. Die Person erfährt es nicht.",
  "memberReport.reason": "Begründung",
  "memberReport.send": "Meldung senden",
  "memberReport.close": "Schließen",
  "memberReport.done": "Danke, die Meldung wurde gesendet.",
  "memberReport.failed": "Die Meldung wurde nicht gesendet.",
  "memberReport.elsewhere": "Dieser Server nimmt nur Meldungen über seine eigenen Benutzer an.",
};

const lb: Readonly<Record<MemberReportKey, string>> = {
  "memberReport.action": "Mellen",
  "memberReport.actionLabel": "{name} mellen",
  "memberReport.title": "{name} mellen",
  "memberReport.body":
    "D’Administrateure vum Server gesinn, wien Dir gemellt hutt, an Äre Grond. D’Persoun kritt et net gesot.",
  "memberReport.reason": "Grond",
  "memberReport.send": "Meldung schécken",
  "memberReport.close": "Zoumaachen",
  "memberReport.done": "Merci, d’Meldung gouf geschéckt.",
  "memberReport.failed": "D’Meldung gouf net geschéckt.",
  "memberReport.elsewhere": "Dëse Server hëlt nëmme Meldungen iwwer seng eege Benotzer un.",
};

/** The messages in each language. */
export const memberReportMessages: Readonly<
  Record<Locale, Readonly<Record<MemberReportKey, string>>>
> = { en, fr, de, lb };

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function memberReportText(
  locale: Locale,
  key: MemberReportKey,
  params?: MessageParams,
): string {
  const template = memberReportMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
