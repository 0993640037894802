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
  "forgot.emailHint": "The address on your account. We send a link to it.",
  "forgot.send": "Send the link",
  "forgot.sent":
    "Check your mail and open the link in it, then confirm there. Come back here afterwards.",
  "forgot.confirmed": "I have confirmed the link",
  "forgot.newPassword": "New password",
  "forgot.confirmPassword": "Confirm the new password",
  "forgot.save": "Set the new password",
  "forgot.done": "Your password was changed. Sign in with it now.",
  "forgot.back": "Back to sign in",
  "forgot.cancel": "Cancel",
  "forgot.busy": "Please wait…",
  "forgot.mismatch": "The two passwords are not the same.",
  "forgot.notConfirmed":
    "The link is not confirmed yet. Open it from the mail, confirm, then try again.",
  "forgot.unknownAddress": "No account on this server has this email address.",
  "forgot.badAddress": "This is not an email address.",
  "forgot.organisation":
    "This account signs in through your organisation. Change the password there.",
  "forgot.weak": "Please choose a longer, less common password.",
  "forgot.limited": "Too many attempts. Please wait a few minutes.",
  "forgot.failed": "That did not work. Please try again.",
};

/** A key of these messages. */
export type ForgotKey = keyof typeof en;

const fr: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Mot de passe oublié ?",
  "forgot.title": "Réinitialiser votre mot de passe",
  "forgot.email": "Adresse e-mail",
  "forgot.emailHint": "L’adresse de votre compte. Nous y envoyons un lien.",
  "forgot.send": "Envoyer le lien",
  "forgot.sent":
    "Consultez votre messagerie, ouvrez le lien reçu et confirmez. Revenez ici ensuite.",
  "forgot.confirmed": "J’ai confirmé le lien",
  "forgot.newPassword": "Nouveau mot de passe",
  "forgot.confirmPassword": "Confirmer le nouveau mot de passe",
  "forgot.save": "Enregistrer le nouveau mot de passe",
  "forgot.done": "Votre mot de passe a été changé. Connectez-vous maintenant avec celui-ci.",
  "forgot.back": "Retour à la connexion",
  "forgot.cancel": "Annuler",
  "forgot.busy": "Veuillez patienter…",
  "forgot.mismatch": "Les deux mots de passe ne sont pas identiques.",
  "forgot.notConfirmed":
    "Le lien n’est pas encore confirmé. Ouvrez-le depuis l’e-mail, confirmez, puis réessayez.",
  "forgot.unknownAddress": "Aucun compte de ce serveur n’a cette adresse e-mail.",
  "forgot.badAddress": "Ce n’est pas une adresse e-mail.",
  "forgot.organisation":
    "Ce compte se connecte par votre organisation. Changez le mot de passe chez elle.",
  "forgot.weak": "Veuillez choisir un mot de passe plus long et moins courant.",
  "forgot.limited": "Trop de tentatives. Veuillez patienter quelques minutes.",
  "forgot.failed": "Cela n’a pas fonctionné. Veuillez réessayer.",
};

const de: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Passwort vergessen?",
  "forgot.title": "Passwort zurücksetzen",
  "forgot.email": "E-Mail-Adresse",
  "forgot.emailHint": "Die Adresse Ihres Kontos. Wir senden Ihnen einen Link dorthin.",
  "forgot.send": "Link senden",
  "forgot.sent":
    "Sehen Sie in Ihren E-Mails nach, öffnen Sie den Link und bestätigen Sie dort. Kehren Sie danach hierher zurück.",
  "forgot.confirmed": "Ich habe den Link bestätigt",
  "forgot.newPassword": "Neues Passwort",
  "forgot.confirmPassword": "Neues Passwort bestätigen",
  "forgot.save": "Neues Passwort festlegen",
  "forgot.done": "Ihr Passwort wurde geändert. Melden Sie sich jetzt damit an.",
  "forgot.back": "Zurück zur Anmeldung",
  "forgot.cancel": "Abbrechen",
  "forgot.busy": "Bitte warten…",
  "forgot.mismatch": "Die beiden Passwörter stimmen nicht überein.",
  "forgot.notConfirmed":
    "Der Link ist noch nicht bestätigt. Öffnen Sie ihn aus der E-Mail, bestätigen Sie und versuchen Sie es erneut.",
  "forgot.unknownAddress": "Kein Konto auf diesem Server hat diese E-Mail-Adresse.",
  "forgot.badAddress": "Das ist keine E-Mail-Adresse.",
  "forgot.organisation":
    "Dieses Konto meldet sich über Ihre Organisation an. Ändern Sie das Passwort dort.",
  "forgot.weak": "Bitte wählen Sie ein längeres, weniger gängiges Passwort.",
  "forgot.limited": "Zu viele Versuche. Bitte warten Sie einige Minuten.",
  "forgot.failed": "Das hat nicht geklappt. Bitte versuchen Sie es erneut.",
};

const lb: Readonly<Record<ForgotKey, string>> = {
  "forgot.open": "Passwuert vergiess?",
  "forgot.title": "Äert Passwuert zrécksetzen",
  "forgot.email": "E-Mail-Adress",
  "forgot.emailHint": "D’Adress vun Ärem Kont. Mir schécken e Link dohinner.",
  "forgot.send": "De Link schécken",
  "forgot.sent":
    "Kuckt an Ären E-Mailen, maacht de Link op a confirméiert do. Kommt duerno heihinner zréck.",
  "forgot.confirmed": "Ech hunn de Link confirméiert",
  "forgot.newPassword": "Neit Passwuert",
  "forgot.confirmPassword": "Neit Passwuert confirméieren",
  "forgot.save": "Neit Passwuert setzen",
  "forgot.done": "Äert Passwuert gouf geännert. Loggt Iech elo domat an.",
  "forgot.back": "Zréck bei d’Umeldung",
  "forgot.cancel": "Ofbriechen",
  "forgot.busy": "Waart w.e.g.…",
  "forgot.mismatch": "Déi zwee Passwierder sinn net d’selwecht.",
  "forgot.notConfirmed":
    "De Link ass nach net confirméiert. Maacht en aus der E-Mail op, confirméiert a probéiert nach eng Kéier.",
  "forgot.unknownAddress": "Kee Kont op dësem Server huet dës E-Mail-Adress.",
  "forgot.badAddress": "Dat ass keng E-Mail-Adress.",
  "forgot.organisation": "Dëse Kont mellt sech iwwer Är Organisatioun un. Ännert d’Passwuert do.",
  "forgot.weak": "Wielt w.e.g. e méi laangt, manner heefegt Passwuert.",
  "forgot.limited": "Ze vill Versich. Waart w.e.g. e puer Minutten.",
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
