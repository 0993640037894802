/**
 * Messages of single sign-on on the sign-in screen (the provider buttons and the return from
 * the provider). Like member_report.ts's, they load with their own chunk.
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
};

/** A key of these messages. */
export type SsoKey = keyof typeof en;

const fr: Readonly<Record<SsoKey, string>> = {
  "sso.or": "ou",
  "sso.continueWith": "Continuer avec {name}",
  "sso.providers": "Se connecter avec le compte de votre organisation",
  "sso.failed": "La connexion unique n’a pas abouti. Veuillez vous reconnecter.",
  "sso.expired": "Le lien de connexion a expiré ou a déjà servi. Veuillez vous reconnecter.",
};

const de: Readonly<Record<SsoKey, string>> = {
  "sso.or": "oder",
  "sso.continueWith": "Weiter mit {name}",
  "sso.providers": "Mit dem Konto Ihrer Organisation anmelden",
  "sso.failed":
    "Die zentrale Anmeldung wurde nicht abgeschlossen. Bitte melden Sie sich erneut an.",
  "sso.expired":
    "Der Anmeldelink ist abgelaufen oder wurde schon benutzt. Bitte melden Sie sich erneut an.",
};

const lb: Readonly<Record<SsoKey, string>> = {
  "sso.or": "oder",
  "sso.continueWith": "Weider mat {name}",
  "sso.providers": "Mam Kont vun Ärer Organisatioun aloggen",
  "sso.failed": "Déi zentral Umeldung ass net fäerdeg ginn. Loggt Iech w.e.g. nach eng Kéier an.",
  "sso.expired":
    "De Login-Link ass ofgelaf oder gouf scho gebraucht. Loggt Iech w.e.g. nach eng Kéier an.",
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
