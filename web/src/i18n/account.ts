/**
 * Messages of the profile and account parts of the settings: display name, picture, password,
 * other devices and deactivation. Unlike the other features' messages they are not merged into
 * the catalogues: they load with the settings screen's account chunk, which keeps them out of
 * the JavaScript the first screen needs. {@link accountText} looks them up in the app's language
 * the way `I18n.t` does.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";
import { elideFrench, formatNumber } from "./format.ts";
import type { Locale, MessageParams } from "./index.ts";

const en = {
  "account.profile": "Profile",
  "account.displayName": "Display name",
  "account.displayNameHint": "The name others see in conversations and in the member list.",
  "account.saveName": "Save name",
  "account.nameSaved": "Your name has been saved.",
  "account.picture": "Profile picture",
  "account.choosePicture": "Choose a picture",
  "account.removePicture": "Remove picture",
  "account.pictureSaved": "Your picture has been saved.",
  "account.pictureNotImage": "Choose an image file (JPEG, PNG, WebP or GIF).",
  "account.passwordTitle": "Password",
  "account.currentPassword": "Current password",
  "account.newPassword": "New password",
  "account.confirmNewPassword": "Confirm new password",
  "account.passwordHint": "Your other devices are signed out when the password changes.",
  "account.changePassword": "Change password",
  "account.passwordChanged": "Your password has been changed.",
  "account.devicesTitle": "Other devices",
  "account.devicesHint":
    "Signs out every other browser and phone where this account is signed in. This device stays signed in.",
  "account.signOutOthers": "Sign out all other devices",
  "account.signedOutOthers.one": "{count} device was signed out.",
  "account.signedOutOthers.other": "{count} devices were signed out.",
  "account.noOtherDevices": "No other device is signed in.",
  "account.deactivateTitle": "Deactivate account",
  "account.deactivateHint":
    "Closes the account for good: you leave every conversation and can never sign in with it again.",
  "account.deactivate": "Deactivate account…",
  "account.deactivateDialog": "Deactivate your account?",
  "account.deactivateWarning":
    "This cannot be undone. Your user name cannot be used again, and you will be signed out everywhere.",
  "account.erase":
    "Also erase my data: others who join later will not see my messages (those who have them keep them).",
  "account.deactivateConfirm": "Deactivate for good",
  "account.cancel": "Cancel",
  "account.missingFields": "Please fill in every field.",
  "account.passwordMismatch": "The new passwords do not match.",
  "account.wrongPassword": "The password is wrong.",
  "account.weakPassword": "The new password is too weak.",
  "account.failed": "That did not work.",
  "account.forbidden": "The server does not allow this.",
  "account.rateLimited": "Too many attempts. Please wait a moment and try again.",
  "account.tooLarge": "This picture is too large for the server.",
  "account.adminConsole": "Server administration",
  "account.adminConsoleHint": "You are a server admin: manage users, rooms, reports and more.",
} as const;

const fr: Readonly<Record<keyof typeof en, string>> = {
  "account.profile": "Profil",
  "account.displayName": "Nom affiché",
  "account.displayNameHint":
    "Le nom que les autres voient dans les conversations et la liste des membres.",
  "account.saveName": "Enregistrer le nom",
  "account.nameSaved": "Votre nom a été enregistré.",
  "account.picture": "Photo de profil",
  "account.choosePicture": "Choisir une image",
  "account.removePicture": "Retirer l’image",
  "account.pictureSaved": "Votre image a été enregistrée.",
  "account.pictureNotImage": "Choisissez un fichier image (JPEG, PNG, WebP ou GIF).",
  "account.passwordTitle": "Mot de passe",
  "account.currentPassword": "Mot de passe actuel",
  "account.newPassword": "Nouveau mot de passe",
  "account.confirmNewPassword": "Confirmer le nouveau mot de passe",
  "account.passwordHint": "Vos autres appareils sont déconnectés lorsque le mot de passe change.",
  "account.changePassword": "Changer le mot de passe",
  "account.passwordChanged": "Votre mot de passe a été changé.",
  "account.devicesTitle": "Autres appareils",
  "account.devicesHint":
    "Déconnecte tous les autres navigateurs et téléphones où ce compte est connecté. Cet appareil reste connecté.",
  "account.signOutOthers": "Déconnecter tous les autres appareils",
  "account.signedOutOthers.one": "{count} appareil a été déconnecté.",
  "account.signedOutOthers.other": "{count} appareils ont été déconnectés.",
  "account.noOtherDevices": "Aucun autre appareil n’est connecté.",
  "account.deactivateTitle": "Désactiver le compte",
  "account.deactivateHint":
    "Ferme le compte définitivement : vous quittez toutes les conversations et ne pourrez plus jamais vous y connecter.",
  "account.deactivate": "Désactiver le compte…",
  "account.deactivateDialog": "Désactiver votre compte ?",
  "account.deactivateWarning":
    "C’est irréversible. Votre nom d’utilisateur ne pourra plus servir et vous serez déconnecté partout.",
  "account.erase":
    "Effacer aussi mes données : les personnes qui rejoindront plus tard ne verront pas mes messages (ceux qui les ont les gardent).",
  "account.deactivateConfirm": "Désactiver définitivement",
  "account.cancel": "Annuler",
  "account.missingFields": "Veuillez remplir tous les champs.",
  "account.passwordMismatch": "Les nouveaux mots de passe ne correspondent pas.",
  "account.wrongPassword": "Le mot de passe est incorrect.",
  "account.weakPassword": "Le nouveau mot de passe est trop faible.",
  "account.failed": "Cela n’a pas fonctionné.",
  "account.forbidden": "Le serveur ne le permet pas.",
  "account.rateLimited": "Trop de tentatives. Veuillez patienter un instant et réessayer.",
  "account.tooLarge": "Cette image est trop grande pour le serveur.",
  "account.adminConsole": "Administration du serveur",
  "account.adminConsoleHint":
    "Vous êtes administrateur du serveur : gérez les utilisateurs, les salons, les signalements et plus encore.",
};

const de: Readonly<Record<keyof typeof en, string>> = {
  "account.profile": "Profil",
  "account.displayName": "Anzeigename",
  "account.displayNameHint":
    "Der Name, den andere in Unterhaltungen und in der Mitgliederliste sehen.",
  "account.saveName": "Namen speichern",
  "account.nameSaved": "Ihr Name wurde gespeichert.",
  "account.picture": "Profilbild",
  "account.choosePicture": "Bild auswählen",
  "account.removePicture": "Bild entfernen",
  "account.pictureSaved": "Ihr Bild wurde gespeichert.",
  "account.pictureNotImage": "Wählen Sie eine Bilddatei (JPEG, PNG, WebP oder GIF).",
  "account.passwordTitle": "Passwort",
  "account.currentPassword": "Aktuelles Passwort",
  "account.newPassword": "Neues Passwort",
  "account.confirmNewPassword": "Neues Passwort bestätigen",
  "account.passwordHint": "Ihre anderen Geräte werden abgemeldet, wenn sich das Passwort ändert.",
  "account.changePassword": "Passwort ändern",
  "account.passwordChanged": "Ihr Passwort wurde geändert.",
  "account.devicesTitle": "Andere Geräte",
  "account.devicesHint":
    "Meldet alle anderen Browser und Telefone ab, auf denen dieses Konto angemeldet ist. Dieses Gerät bleibt angemeldet.",
  "account.signOutOthers": "Alle anderen Geräte abmelden",
  "account.signedOutOthers.one": "{count} Gerät wurde abgemeldet.",
  "account.signedOutOthers.other": "{count} Geräte wurden abgemeldet.",
  "account.noOtherDevices": "Kein anderes Gerät ist angemeldet.",
  "account.deactivateTitle": "Konto deaktivieren",
  "account.deactivateHint":
    "Schließt das Konto endgültig: Sie verlassen alle Unterhaltungen und können sich nie wieder damit anmelden.",
  "account.deactivate": "Konto deaktivieren…",
  "account.deactivateDialog": "Ihr Konto deaktivieren?",
  "account.deactivateWarning":
    "Das lässt sich nicht rückgängig machen. Ihr Benutzername kann nicht wieder vergeben werden, und Sie werden überall abgemeldet.",
  "account.erase":
    "Auch meine Daten löschen: Wer später beitritt, sieht meine Nachrichten nicht (wer sie schon hat, behält sie).",
  "account.deactivateConfirm": "Endgültig deaktivieren",
  "account.cancel": "Abbrechen",
  "account.missingFields": "Bitte füllen Sie alle Felder aus.",
  "account.passwordMismatch": "Die neuen Passwörter stimmen nicht überein.",
  "account.wrongPassword": "Das Passwort ist falsch.",
  "account.weakPassword": "Das neue Passwort ist zu schwach.",
  "account.failed": "Das hat nicht funktioniert.",
  "account.forbidden": "Der Server erlaubt das nicht.",
  "account.rateLimited":
    "Zu viele Versuche. Bitte warten Sie einen Moment und versuchen Sie es erneut.",
  "account.tooLarge": "Dieses Bild ist zu groß für den Server.",
  "account.adminConsole": "Serververwaltung",
  "account.adminConsoleHint":
    "Sie sind Serveradministrator: Verwalten Sie Benutzer, Räume, Meldungen und mehr.",
};

const lb: Readonly<Record<keyof typeof en, string>> = {
  "account.profile": "Profil",
  "account.displayName": "Ugewisenen Numm",
  "account.displayNameHint":
    "Den Numm, deen anerer an de Gespréicher an an der Memberlëscht gesinn.",
  "account.saveName": "Numm späicheren",
  "account.nameSaved": "Ären Numm gouf gespäichert.",
  "account.picture": "Profilbild",
  "account.choosePicture": "Bild eraussichen",
  "account.removePicture": "Bild ewechhuelen",
  "account.pictureSaved": "Äert Bild gouf gespäichert.",
  "account.pictureNotImage": "Sicht w.e.g. e Bildfichier eraus (JPEG, PNG, WebP oder GIF).",
  "account.passwordTitle": "Passwuert",
  "account.currentPassword": "Aktuellt Passwuert",
  "account.newPassword": "Neit Passwuert",
  "account.confirmNewPassword": "Neit Passwuert bestätegen",
  "account.passwordHint": "Är aner Apparater ginn ofgemellt, wann d’Passwuert ännert.",
  "account.changePassword": "Passwuert änneren",
  "account.passwordChanged": "Äert Passwuert gouf geännert.",
  "account.devicesTitle": "Aner Apparater",
  "account.devicesHint":
    "Mellt all aner Browseren an Telefonen of, op deenen dëse Kont ugemellt ass. Dësen Apparat bleift ugemellt.",
  "account.signOutOthers": "All aner Apparater ofmellen",
  "account.signedOutOthers.one": "{count} Apparat gouf ofgemellt.",
  "account.signedOutOthers.other": "{count} Apparater goufen ofgemellt.",
  "account.noOtherDevices": "Keen aneren Apparat ass ugemellt.",
  "account.deactivateTitle": "Kont desaktivéieren",
  "account.deactivateHint":
    "Mécht de Kont fir ëmmer zou: Dir verloosst all Gespréicher a kënnt Iech ni méi domat umellen.",
  "account.deactivate": "Kont desaktivéieren…",
  "account.deactivateDialog": "Äre Kont desaktivéieren?",
  "account.deactivateWarning":
    "Dat kann net réckgängeg gemaach ginn. Äre Benotzernumm kann net méi benotzt ginn, an Dir gitt iwwerall ofgemellt.",
  "account.erase":
    "Och meng Donnéeë läschen: Wien duerno bäitrëtt, gesäit meng Messagen net (wien se schonn huet, behält se).",
  "account.deactivateConfirm": "Fir ëmmer desaktivéieren",
  "account.cancel": "Ofbriechen",
  "account.missingFields": "Fëllt w.e.g. all d’Felder aus.",
  "account.passwordMismatch": "Déi nei Passwierder stëmmen net iwwerteneen.",
  "account.wrongPassword": "D’Passwuert ass falsch.",
  "account.weakPassword": "Dat neit Passwuert ass ze schwaach.",
  "account.failed": "Dat huet net geklappt.",
  "account.forbidden": "De Server erlaabt dat net.",
  "account.rateLimited": "Ze vill Versich. Waart w.e.g. e Moment a probéiert nach eng Kéier.",
  "account.tooLarge": "Dëst Bild ass ze grouss fir de Server.",
  "account.adminConsole": "Serververwaltung",
  "account.adminConsoleHint":
    "Dir sidd Serveradministrateur: Verwalt Benotzer, Raim, Meldungen a méi.",
};

/** Messages of the profile and account settings, in every language. */
export const accountMessages: FeatureMessages<typeof en> = { en, fr, de, lb };

/** A key of {@link accountMessages}. */
export type AccountKey = keyof typeof en;

/** Keys with `.one` / `.other` forms, without the suffix. */
export type AccountPluralKey = AccountKey extends infer K
  ? K extends `${infer Base}.other` ? Base : never
  : never;

/**
 * Fills `{name}` placeholders as `format` in index.ts does. Its own copy: importing index.ts
 * here would move the catalogues into a chunk shared with the first screen's, which costs the
 * first screen about half a kilobyte of gzip.
 */
function fill(template: string, params?: MessageParams): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/** The message for `key` in `locale`, placeholders filled (French elisions as in `I18n.t`). */
export function accountText(locale: Locale, key: AccountKey, params?: MessageParams): string {
  const template = accountMessages[locale][key];
  return fill(locale === "fr" && params ? elideFrench(template, params) : template, params);
}

/** The plural form of `base` for `count`, the count written by `Intl`. */
export function accountPlural(locale: Locale, base: AccountPluralKey, count: number): string {
  const rule = new Intl.PluralRules(locale).select(count);
  const key = `${base}.${rule}` in en ? `${base}.${rule}` : `${base}.other`;
  return accountText(locale, key as AccountKey, { count: formatNumber(locale, count) });
}
