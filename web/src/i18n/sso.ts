/**
 * Messages of single sign-on: the provider buttons of the sign-in screen, the return from the
 * provider, and the confirmation at the provider that replaces the password prompt for accounts
 * without a password. Like member_report.ts's, they load with the chunks that use them.
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "sso.or": "or",
  "sso.continueWith": "Continue with {name}",
  "sso.providers": "Sign in with your organisation's account",
  "sso.failed": "Single sign-on did not finish. Please sign in again.",
  "sso.expired": "The sign-in link has expired or was already used. Please sign in again.",
  "sso.confirmTitle": "Confirm it is you",
  "sso.confirmHint":
    "Confirm with your organisation's account to continue. A new window opens; come back here afterwards.",
  "sso.confirm": "Confirm",
  "sso.notConfirmed": "The confirmation did not finish. Please try again.",
};

/** A key of these messages. */
export type SsoKey = keyof typeof en;

const fr: Readonly<Record<SsoKey, string>> = {
  "sso.or": "ou",
  "sso.continueWith": "Continuer avec {name}",
  "sso.providers": "Se connecter avec le compte de votre organisation",
  "sso.failed": "La connexion unique n’a pas abouti. Veuillez vous reconnecter.",
  "sso.expired": "Le lien de connexion a expiré ou a déjà servi. Veuillez vous reconnecter.",
  "sso.confirmTitle": "Confirmez votre identité",
  "sso.confirmHint":
    "Confirmez avec le compte de votre organisation pour continuer. Une nouvelle fenêtre s’ouvre ; revenez ici ensuite.",
  "sso.confirm": "Confirmer",
  "sso.notConfirmed": "La confirmation n’a pas abouti. Veuillez réessayer.",
};

const de: Readonly<Record<SsoKey, string>> = {
  "sso.or": "oder",
  "sso.continueWith": "Weiter mit {name}",
  "sso.providers": "Mit dem Konto Ihrer Organisation anmelden",
  "sso.failed":
    "Die zentrale Anmeldung wurde nicht abgeschlossen. Bitte melden Sie sich erneut an.",
  "sso.expired":
    "Der Anmeldelink ist abgelaufen oder wurde schon benutzt. Bitte melden Sie sich erneut an.",
  "sso.confirmTitle": "Bestätigen Sie, dass Sie es sind",
  "sso.confirmHint":
    "Bestätigen Sie mit dem Konto Ihrer Organisation, um fortzufahren. Ein neues Fenster öffnet sich; kehren Sie danach hierher zurück.",
  "sso.confirm": "Bestätigen",
  "sso.notConfirmed": "Die Bestätigung wurde nicht abgeschlossen. Bitte versuchen Sie es erneut.",
};

const lb: Readonly<Record<SsoKey, string>> = {
  "sso.or": "oder",
  "sso.continueWith": "Weider mat {name}",
  "sso.providers": "Mam Kont vun Ärer Organisatioun aloggen",
  "sso.failed": "Déi zentral Umeldung ass net fäerdeg ginn. Loggt Iech w.e.g. nach eng Kéier an.",
  "sso.expired":
    "De Login-Link ass ofgelaf oder gouf scho gebraucht. Loggt Iech w.e.g. nach eng Kéier an.",
  "sso.confirmTitle": "Confirméiert, datt Dir et sidd",
  "sso.confirmHint":
    "Confirméiert mam Kont vun Ärer Organisatioun, fir weiderzemaachen. Eng nei Fënster geet op; kommt duerno heihinner zréck.",
  "sso.confirm": "Confirméieren",
  "sso.notConfirmed": "D’Confirmatioun ass net fäerdeg ginn. Probéiert w.e.g. nach eng Kéier.",
};

/** The messages in each language. */
export const ssoMessages: Readonly<Record<Locale, Readonly<Record<SsoKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function ssoText(locale: Locale, key: SsoKey, params?: MessageParams): string {
  const template = ssoMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}
