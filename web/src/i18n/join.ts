/**
 * Messages of joining a room by its address (on this server or another one).
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {
  "rooms.list.joinRoom": "Join a room",

  "rooms.join.title": "Join a room",
  "rooms.join.intro": "Enter the address of a room, on this server or on another one.",
  "rooms.join.address": "Room address",
  "rooms.join.addressHint":
    "An address such as #town-hall:example.org, a room ID (starting with !), or a matrix.to link.",
  "rooms.join.via": "Join through (optional)",
  "rooms.join.viaHint":
    "For a room ID: a server that is in the room, such as example.org. Separate several with commas.",
  "rooms.join.submit": "Join",
  "rooms.join.joining": "Joining… A room on another server can take a moment.",

  "rooms.join.missing": "Enter a room address.",
  "rooms.join.notAnAddress":
    "A room address starts with # (such as #town-hall:example.org); a room ID starts with !.",
  "rooms.join.invalid":
    "This is not a valid room address. Check it, including the server after the colon.",
  "rooms.join.badServer":
    "A server to join through is not a valid server name (such as example.org or example.org:8448).",
  "rooms.join.unknownAlias":
    "No room has this address. Check the spelling and the server after the colon.",
  "rooms.join.unknownRoom": "This room could not be found on the servers given.",
  "rooms.join.unknownRoomNoVia":
    "This room is not known here. If it is on another server, name a server that is in it under “Join through”.",
  "rooms.join.refused":
    "The room did not let you in: it may be open to invited people only, or you may be banned.",
  "rooms.join.unreachable":
    "The room’s server could not be reached or did not answer properly. Try again later.",
  "rooms.join.offline": "Your server could not be reached. Check your connection and try again.",
  "rooms.join.unsupported":
    "Your server cannot join this room: it does not support the room’s version.",
} as const;

const fr: Readonly<Record<keyof typeof en, string>> = {
  "rooms.list.joinRoom": "Rejoindre un salon",

  "rooms.join.title": "Rejoindre un salon",
  "rooms.join.intro": "Saisissez l’adresse d’un salon, sur ce serveur ou sur un autre.",
  "rooms.join.address": "Adresse du salon",
  "rooms.join.addressHint":
    "Une adresse comme #mairie:example.org, un identifiant de salon (commençant par !) ou un lien matrix.to.",
  "rooms.join.via": "Rejoindre via (facultatif)",
  "rooms.join.viaHint":
    "Pour un identifiant de salon : un serveur présent dans le salon, comme example.org. Séparez-en plusieurs par des virgules.",
  "rooms.join.submit": "Rejoindre",
  "rooms.join.joining": "Connexion au salon… Un salon d’un autre serveur peut prendre un moment.",

  "rooms.join.missing": "Saisissez l’adresse d’un salon.",
  "rooms.join.notAnAddress":
    "Une adresse de salon commence par # (comme #mairie:example.org) ; un identifiant de salon par !.",
  "rooms.join.invalid":
    "Cette adresse de salon n’est pas valide. Vérifiez-la, y compris le serveur après les deux-points.",
  "rooms.join.badServer":
    "Un serveur indiqué pour rejoindre n’est pas un nom de serveur valide (comme example.org ou example.org:8448).",
  "rooms.join.unknownAlias":
    "Aucun salon n’a cette adresse. Vérifiez l’orthographe et le serveur après les deux-points.",
  "rooms.join.unknownRoom": "Ce salon est introuvable sur les serveurs indiqués.",
  "rooms.join.unknownRoomNoVia":
    "Ce salon n’est pas connu ici. S’il est sur un autre serveur, indiquez un serveur présent dans le salon sous « Rejoindre via ».",
  "rooms.join.refused":
    "Le salon ne vous a pas laissé entrer : il est peut-être réservé aux invités, ou vous en êtes banni.",
  "rooms.join.unreachable":
    "Le serveur du salon est injoignable ou n’a pas répondu correctement. Réessayez plus tard.",
  "rooms.join.offline": "Votre serveur est injoignable. Vérifiez votre connexion et réessayez.",
  "rooms.join.unsupported":
    "Votre serveur ne peut pas rejoindre ce salon : il ne prend pas en charge la version du salon.",
};

const de: Readonly<Record<keyof typeof en, string>> = {
  "rooms.list.joinRoom": "Raum beitreten",

  "rooms.join.title": "Raum beitreten",
  "rooms.join.intro":
    "Geben Sie die Adresse eines Raums ein, auf diesem oder einem anderen Server.",
  "rooms.join.address": "Raumadresse",
  "rooms.join.addressHint":
    "Eine Adresse wie #rathaus:example.org, eine Raum-ID (beginnt mit !) oder ein matrix.to-Link.",
  "rooms.join.via": "Beitreten über (optional)",
  "rooms.join.viaHint":
    "Für eine Raum-ID: ein Server, der im Raum ist, etwa example.org. Mehrere durch Kommas trennen.",
  "rooms.join.submit": "Beitreten",
  "rooms.join.joining": "Beitritt läuft… Ein Raum auf einem anderen Server kann etwas dauern.",

  "rooms.join.missing": "Geben Sie eine Raumadresse ein.",
  "rooms.join.notAnAddress":
    "Eine Raumadresse beginnt mit # (etwa #rathaus:example.org), eine Raum-ID mit !.",
  "rooms.join.invalid":
    "Das ist keine gültige Raumadresse. Prüfen Sie sie, auch den Server nach dem Doppelpunkt.",
  "rooms.join.badServer":
    "Ein Server zum Beitreten ist kein gültiger Servername (etwa example.org oder example.org:8448).",
  "rooms.join.unknownAlias":
    "Kein Raum hat diese Adresse. Prüfen Sie die Schreibweise und den Server nach dem Doppelpunkt.",
  "rooms.join.unknownRoom": "Dieser Raum wurde auf den angegebenen Servern nicht gefunden.",
  "rooms.join.unknownRoomNoVia":
    "Dieser Raum ist hier nicht bekannt. Liegt er auf einem anderen Server, nennen Sie unter „Beitreten über“ einen Server, der im Raum ist.",
  "rooms.join.refused":
    "Der Raum hat Sie nicht eingelassen: Er ist vielleicht nur für Eingeladene, oder Sie sind gesperrt.",
  "rooms.join.unreachable":
    "Der Server des Raums ist nicht erreichbar oder hat nicht richtig geantwortet. Versuchen Sie es später noch einmal.",
  "rooms.join.offline":
    "Ihr Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
  "rooms.join.unsupported":
    "Ihr Server kann diesem Raum nicht beitreten: Er unterstützt die Version des Raums nicht.",
};

const lb: Readonly<Record<keyof typeof en, string>> = {
  "rooms.list.joinRoom": "An e Raum goen",

  "rooms.join.title": "An e Raum goen",
  "rooms.join.intro": "Gitt d’Adress vun engem Raum an, op dësem Server oder op engem aneren.",
  "rooms.join.address": "Adress vum Raum",
  "rooms.join.addressHint":
    "Eng Adress wéi #gemeng:example.org, eng Raum-ID (fänkt mat ! un) oder e matrix.to-Link.",
  "rooms.join.via": "Iwwer dëse Server (fakultativ)",
  "rooms.join.viaHint":
    "Fir eng Raum-ID: e Server, deen am Raum ass, wéi example.org. E puer mat Kommae trennen.",
  "rooms.join.submit": "Bäitrieden",
  "rooms.join.joining": "Bäitrëtt leeft… E Raum op engem anere Server ka e Moment daueren.",

  "rooms.join.missing": "Gitt d’Adress vun engem Raum an.",
  "rooms.join.notAnAddress":
    "Eng Raumadress fänkt mat # un (wéi #gemeng:example.org), eng Raum-ID mat !.",
  "rooms.join.invalid":
    "Dat ass keng gëlteg Raumadress. Kontrolléiert se, och de Server nom Doppelpunkt.",
  "rooms.join.badServer":
    "E Server fir bäizetrieden ass keen gëltegen Servernumm (wéi example.org oder example.org:8448).",
  "rooms.join.unknownAlias":
    "Kee Raum huet dës Adress. Kontrolléiert d’Schreifweis an de Server nom Doppelpunkt.",
  "rooms.join.unknownRoom": "Dëse Raum gouf op den uginnene Serveren net fonnt.",
  "rooms.join.unknownRoomNoVia":
    "Dëse Raum ass hei net bekannt. Wann en op engem anere Server ass, gitt ënner „Iwwer dëse Server“ e Server un, deen am Raum ass.",
  "rooms.join.refused":
    "De Raum huet Iech net erageloss: Vläicht ass en nëmme fir Invitéierten, oder Dir sidd gespaart.",
  "rooms.join.unreachable":
    "De Server vum Raum ass net z’erreechen oder huet net richteg geäntwert. Probéiert et méi spéit nach eng Kéier.",
  "rooms.join.offline":
    "Äre Server ass net z’erreechen. Kontrolléiert Är Verbindung a probéiert et nach eng Kéier.",
  "rooms.join.unsupported":
    "Äre Server kann net an dëse Raum goen: En ënnerstëtzt d’Versioun vum Raum net.",
};

/** The join-a-room messages in the four languages. */
export const joinMessages: FeatureMessages<typeof en> = { en, fr, de, lb };
