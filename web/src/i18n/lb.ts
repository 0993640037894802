/**
 * Luxembourgish messages.
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
  "app.tagline": "De Chat vun Ärer Gemeng, vun Enn zu Enn verschlësselt",
  "app.loading": "Gëtt gelueden…",
  "app.skipToContent": "Direkt bei den Inhalt",

  "auth.signIn.title": "Umellen",
  "auth.signIn.submit": "Umellen",
  "auth.signIn.noAccount": "Nei hei?",
  "auth.signIn.toSignUp": "E Kont uleeën",
  "auth.signUp.title": "E Kont uleeën",
  "auth.signUp.submit": "Kont uleeën",
  "auth.signUp.haveAccount": "Dir hutt schonn e Kont?",
  "auth.signUp.toSignIn": "Amplaz dessen umellen",
  "auth.signUp.checking": "Et gëtt gekuckt, wat dëse Server verlaangt…",
  "auth.server": "Server",
  "auth.serverHint": "Behaalt dës Adress fir dëse Server, oder gitt en anere Matrix-Server an.",
  "auth.username": "Benotzernumm",
  "auth.password": "Passwuert",
  "auth.confirmPassword": "Passwuert bestätegen",
  "auth.token": "Registréierungscode",
  "auth.tokenHint": "Dëse Server verlaangt e Registréierungscode vu senger Verwaltung.",
  "auth.busy": "Waart w.e.g.…",

  "error.missingFields": "Fëllt w.e.g. all d’Felder aus.",
  "error.passwordMismatch": "D’Passwierder stëmmen net iwwereneen.",
  "error.badLogin": "Falsche Benotzernumm oder falscht Passwuert.",
  "error.userInUse": "Dëse Benotzernumm ass scho vergi.",
  "error.invalidUsername": "E Benotzernumm däerf just a–z, 0–9 an . _ = - / enthalen",
  "error.badToken": "Dëse Registréierungscode ass net gëlteg.",
  "error.registrationClosed": "Dëse Server hëlt keng nei Konten un.",
  "error.unreachable": "Ënner {url} ass kee Matrix-Server ze erreechen.",
  "error.rateLimited": "Ze vill Versich. Waart e Moment a probéiert et nach eng Kéier.",
  "error.unsupportedFlow":
    "Dëse Server verlaangt e Registréierungsschrëtt, deen d’App nach net ënnerstëtzt.",
  "error.weakPassword": "Dëst Passwuert ass ze schwaach.",
  "error.deactivated": "Dëse Kont gouf desaktivéiert.",
  "error.unknown": "Eppes ass schifgaang: {message}",

  "shell.rooms": "Gespréicher",
  "shell.roomList": "Lëscht vun de Gespréicher",
  "shell.empty": "Nach keng Gespréicher.",
  "shell.emptyHint": "Gespréicher, déi Dir ufänkt oder deenen Dir bäitriet, erschéngen hei.",
  "shell.selectRoom": "Wielt e Gespréich aus, fir et ze liesen.",
  "shell.roomPlaceholder": "Hei erschéngen d’Messagen.",
  "shell.unnamedRoom": "Gespréich ouni Numm",
  "shell.signedInAs": "Ugemellt als {userId}",
  "shell.signOut": "Ofmellen",
  "shell.signingOut": "Ofmeldung…",
  "shell.settings": "Astellungen",
  "shell.back": "Zréck bei d’Gespréicher",
  "shell.unread.one": "{count} net gelies Message",
  "shell.unread.other": "{count} net gelies Messagen",
  "shell.highlight.one": "{count} Ernimmung",
  "shell.highlight.other": "{count} Ernimmungen",

  "shell.search": "Gespréicher duerchsichen",
  "shell.noMatch": "Kee Gespréich passt zu „{query}“.",
  "shell.invites": "Invitatiounen",
  "shell.invitedBy": "Invitéiert vum {user}",
  "shell.accept": "Unhuelen",
  "shell.decline": "Ofleenen",
  "shell.acceptLabel": "D’Invitatioun op {room} unhuelen",
  "shell.declineLabel": "D’Invitatioun op {room} ofleenen",
  "shell.actionFailed": "Dat huet net geklappt: {message}",
  "sync.connecting": "Verbindung gëtt opgebaut…",
  "sync.offline": "Offline: Et gëtt gewisen, wat dësen Apparat gespäichert huet.",
  "sync.error": "De Server äntwert nach net; neie Versuch…",

  "settings.title": "Astellungen",
  "settings.language": "Sprooch",
  "settings.theme": "Faarfschema",
  "settings.themeSystem": "Wéi dësen Apparat",
  "settings.themeLight": "Hell",
  "settings.themeDark": "Donkel",
  "settings.account": "Kont",
  "settings.encryption": "Verschlësselung",

  "theme.toDark": "Op dat donkelt Faarfschema wiesselen",
  "theme.toLight": "Op dat hellt Faarfschema wiesselen",

  "crypto.off": "D’Verschlësselung leeft net op dësem Apparat.",
  "crypto.starting": "D’Verschlësselung gëtt op dësem Apparat ageriicht…",
  "crypto.ready": "D’Verschlësselung vun Enn zu Enn ass op dësem Apparat prett.",
  "crypto.failed": "D’Verschlësselung konnt op dësem Apparat net starten: {message}",
};

/** The Luxembourgish catalogue. */
export const lb: Catalogue = {
  ...core,
  ...timelineMessages.lb,
  ...roomsMessages.lb,
  ...joinMessages.lb,
  ...filesMessages.lb,
  ...pollsMessages.lb,
  ...locationMessages.lb,
  ...callsMessages.lb,
  ...securityMessages.lb,
};
