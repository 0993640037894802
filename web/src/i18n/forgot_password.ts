/**
 * Messages of the password reset by email on the sign-in screen. Like sso.ts's, they load with
 * the chunk that uses them, not with the catalogues.
 *
 * @module
 */

import type { Locale } from "./index.ts";

const en = {
  "forgot.open": "Forgot password?",
  "forgot.title": "Reset your password",
  "forgot.email": "Email address",
  "forgot.send": "Send the link",
  "forgot.sent": "Open the link in the mail we sent you and confirm there.",
  "forgot.newPassword": "New password",
  "forgot.confirmPassword": "Confirm the new password",
  "forgot.save": "Set the new password",
  "forgot.done": "Your password was changed. Sign in with it now.",
  "forgot.back": "Back to sign in",
  "forgot.cancel": "Cancel",
  "forgot.mismatch": "The two passwords are not the same.",
  "forgot.notConfirmed": "The link is not confirmed yet.",
  "forgot.unknownAddress": "No account on this server has this email address.",
  "forgot.organisation":
    "This account signs in through your organisation. Change the password there.",
  "forgot.weak": "Please choose a longer, less common password.",
  "forgot.failed": "That did not work. Please try again.",
};

/** A key of these messages. */
export type ForgotKey = keyof typeof en;

const fr: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Mot de passe oublié ?",
  "forgot.title": "Réinitialiser votre mot de passe",
  "forgot.email": "Adresse e-mail",
  "forgot.send": "Envoyer le lien",
  "forgot.sent": "Ouvrez le lien de l’e-mail envoyé et confirmez-y.",
  "forgot.newPassword": "Nouveau mot de passe",
  "forgot.confirmPassword": "Confirmer le nouveau mot de passe",
  "forgot.save": "Enregistrer le nouveau mot de passe",
  "forgot.done": "Votre mot de passe a été changé. Connectez-vous maintenant avec celui-ci.",
  "forgot.back": "Retour à la connexion",
  "forgot.cancel": "Annuler",
  "forgot.mismatch": "Les deux mots de passe ne sont pas identiques.",
  "forgot.notConfirmed": "Le lien n’est pas encore confirmé.",
  "forgot.unknownAddress": "Aucun compte de ce serveur n’a cette adresse e-mail.",
  "forgot.organisation":
    "Ce compte se connecte par votre organisation. Changez le mot de passe chez elle.",
  "forgot.weak": "Veuillez choisir un mot de passe plus long et moins courant.",
  "forgot.failed": "Cela n’a pas fonctionné. Veuillez réessayer.",
};

const de: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Passwort vergessen?",
  "forgot.title": "Passwort zurücksetzen",
  "forgot.email": "E-Mail-Adresse",
  "forgot.send": "Link senden",
  "forgot.sent": "Öffnen Sie den Link in der E-Mail und bestätigen Sie dort.",
  "forgot.newPassword": "Neues Passwort",
  "forgot.confirmPassword": "Neues Passwort bestätigen",
  "forgot.save": "Neues Passwort festlegen",
  "forgot.done": "Ihr Passwort wurde geändert. Melden Sie sich jetzt damit an.",
  "forgot.back": "Zurück zur Anmeldung",
  "forgot.cancel": "Abbrechen",
  "forgot.mismatch": "Die beiden Passwörter stimmen nicht überein.",
  "forgot.notConfirmed": "Der Link ist noch nicht bestätigt.",
  "forgot.unknownAddress": "Kein Konto auf diesem Server hat diese E-Mail-Adresse.",
  "forgot.organisation":
    "Dieses Konto meldet sich über Ihre Organisation an. Ändern Sie das Passwort dort.",
  "forgot.weak": "Bitte wählen Sie ein längeres, weniger gängiges Passwort.",
  "forgot.failed": "Das hat nicht geklappt. Bitte versuchen Sie es erneut.",
};

const lb: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Passwuert vergiess?",
  "forgot.title": "Äert Passwuert zrécksetzen",
  "forgot.email": "E-Mail-Adress",
  "forgot.send": "De Link schécken",
  "forgot.sent": "Maacht de Link aus der E-Mail op a confirméiert do.",
  "forgot.newPassword": "Neit Passwuert",
  "forgot.confirmPassword": "Neit Passwuert confirméieren",
  "forgot.save": "Neit Passwuert setzen",
  "forgot.done": "Äert Passwuert gouf geännert. Loggt Iech elo domat an.",
  "forgot.back": "Zréck bei d’Umeldung",
  "forgot.cancel": "Ofbriechen",
  "forgot.mismatch": "Déi zwee Passwierder sinn net d’selwecht.",
  "forgot.notConfirmed": "De Link ass nach net confirméiert.",
  "forgot.unknownAddress": "Kee Kont op dësem Server huet dës E-Mail-Adress.",
  "forgot.organisation": "Dëse Kont mellt sech iwwer Är Organisatioun un. Ännert d’Passwuert do.",
  "forgot.weak": "Wielt w.e.g. e méi laangt, manner heefegt Passwuert.",
  "forgot.failed": "Dat huet net geklappt. Probéiert w.e.g. nach eng Kéier.",
};

/** The messages in each language. */
export const forgotMessages: Readonly<Record<Locale, Readonly<Record<ForgotKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`. */
export function forgotText(locale: Locale, key: ForgotKey): string {
  return forgotMessages[locale][key];
}
