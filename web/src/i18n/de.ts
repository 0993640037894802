/**
 * German messages.
 *
 * @module
 */

import type { Catalogue } from "./en.ts";
import { timelineMessages } from "./timeline.ts";
import { roomsMessages } from "./rooms.ts";
import { joinMessages } from "./join.ts";
import { filesMessages } from "./files.ts";
import { pollsMessages } from "./polls.ts";
import { locationMessages } from "./location.ts";
import { callsMessages } from "./calls.ts";
import { securityMessages } from "./security.ts";

const core = {
  "app.name": "gemeng",
  "app.tagline": "Der Chat Ihrer Gemeinde, Ende-zu-Ende-verschlüsselt",
  "app.loading": "Wird geladen…",
  "app.skipToContent": "Zum Inhalt springen",

  "auth.signIn.title": "Anmelden",
  "auth.signIn.submit": "Anmelden",
  "auth.signIn.noAccount": "Neu hier?",
  "auth.signIn.toSignUp": "Konto erstellen",
  "auth.signUp.title": "Konto erstellen",
  "auth.signUp.submit": "Konto anlegen",
  "auth.signUp.haveAccount": "Sie haben schon ein Konto?",
  "auth.signUp.toSignIn": "Stattdessen anmelden",
  "auth.signUp.checking": "Es wird geprüft, was dieser Server verlangt…",
  "auth.server": "Server",
  "auth.serverHint":
    "Behalten Sie diese Adresse für diesen Server oder geben Sie einen anderen Matrix-Server ein.",
  "auth.username": "Benutzername",
  "auth.password": "Passwort",
  "auth.confirmPassword": "Passwort bestätigen",
  "auth.token": "Registrierungscode",
  "auth.tokenHint": "Dieser Server verlangt einen Registrierungscode von seiner Verwaltung.",
  "auth.busy": "Bitte warten…",

  "error.missingFields": "Bitte füllen Sie alle Felder aus.",
  "error.passwordMismatch": "Die Passwörter stimmen nicht überein.",
  "error.badLogin": "Benutzername oder Passwort ist falsch.",
  "error.userInUse": "Dieser Benutzername ist bereits vergeben.",
  "error.invalidUsername": "Ein Benutzername darf nur a–z, 0–9 und . _ = - / enthalten",
  "error.badToken": "Dieser Registrierungscode ist nicht gültig.",
  "error.registrationClosed": "Dieser Server nimmt keine neuen Konten an.",
  "error.unreachable": "Unter {url} ist kein Matrix-Server erreichbar.",
  "error.rateLimited": "Zu viele Versuche. Bitte warten Sie kurz und versuchen Sie es erneut.",
  "error.unsupportedFlow":
    "Dieser Server verlangt einen Registrierungsschritt, den die App noch nicht unterstützt.",
  "error.weakPassword": "Dieses Passwort ist zu schwach.",
  "error.deactivated": "Dieses Konto wurde deaktiviert.",
  "error.unknown": "Etwas ist schiefgelaufen: {message}",

  "shell.rooms": "Unterhaltungen",
  "shell.roomList": "Liste der Unterhaltungen",
  "shell.empty": "Noch keine Unterhaltungen.",
  "shell.emptyHint": "Unterhaltungen, die Sie beginnen oder denen Sie beitreten, erscheinen hier.",
  "shell.selectRoom": "Wählen Sie eine Unterhaltung aus, um sie zu lesen.",
  "shell.roomPlaceholder": "Hier erscheinen die Nachrichten.",
  "shell.unnamedRoom": "Unbenannte Unterhaltung",
  "shell.signedInAs": "Angemeldet als {userId}",
  "shell.signOut": "Abmelden",
  "shell.signingOut": "Abmeldung…",
  "shell.settings": "Einstellungen",
  "shell.back": "Zurück zu den Unterhaltungen",
  "shell.unread.one": "{count} ungelesene Nachricht",
  "shell.unread.other": "{count} ungelesene Nachrichten",
  "shell.highlight.one": "{count} Erwähnung",
  "shell.highlight.other": "{count} Erwähnungen",

  "shell.search": "Unterhaltungen durchsuchen",
  "shell.noMatch": "Keine Unterhaltung passt zu „{query}“.",
  "shell.invites": "Einladungen",
  "shell.invitedBy": "Eingeladen von {user}",
  "shell.accept": "Annehmen",
  "shell.decline": "Ablehnen",
  "shell.acceptLabel": "Einladung zu {room} annehmen",
  "shell.declineLabel": "Einladung zu {room} ablehnen",
  "shell.actionFailed": "Das hat nicht geklappt: {message}",
  "sync.connecting": "Verbindung wird aufgebaut…",
  "sync.offline": "Offline: Es wird angezeigt, was dieses Gerät gespeichert hat.",
  "sync.error": "Der Server antwortet noch nicht; neuer Versuch…",

  "settings.title": "Einstellungen",
  "settings.language": "Sprache",
  "settings.theme": "Farbschema",
  "settings.themeSystem": "Wie dieses Gerät",
  "settings.themeLight": "Hell",
  "settings.themeDark": "Dunkel",
  "settings.account": "Konto",
  "settings.encryption": "Verschlüsselung",

  "theme.toDark": "Zum dunklen Farbschema wechseln",
  "theme.toLight": "Zum hellen Farbschema wechseln",

  "crypto.off": "Die Verschlüsselung läuft auf diesem Gerät nicht.",
  "crypto.starting": "Verschlüsselung wird auf diesem Gerät eingerichtet…",
  "crypto.ready": "Die Ende-zu-Ende-Verschlüsselung ist auf diesem Gerät bereit.",
  "crypto.failed": "Die Verschlüsselung konnte auf diesem Gerät nicht starten: {message}",
};

/** The German catalogue. */
export const de: Catalogue = {
  ...core,
  ...timelineMessages.de,
  ...roomsMessages.de,
  ...joinMessages.de,
  ...filesMessages.de,
  ...pollsMessages.de,
  ...locationMessages.de,
  ...callsMessages.de,
  ...securityMessages.de,
};
