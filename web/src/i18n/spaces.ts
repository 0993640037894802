/**
 * Messages of the spaces (the spaces bar and picker, a space's home, creating a space, adding
 * rooms to it) and of the public room directory. Like message_more.ts's, they load with their
 * chunk instead of being merged into the catalogues, so the first screen does not carry them.
 * The French messages put names where no elision is needed ("à {space}", "Accueil : {space}").
 *
 * @module
 */

import type { Locale, MessageParams } from "./index.ts";

const en = {
  "spaces.nav": "Spaces",
  "spaces.picker": "Space",
  "spaces.all": "All conversations",
  "spaces.create": "Create a space",
  "spaces.explore": "Explore public rooms",
  "spaces.home": "Space home",
  "spaces.kind": "Space",
  "spaces.unreadIn": "{space}, unread messages",
  "spaces.unnamed": "Unnamed room",
  "spaces.members.one": "{count} member",
  "spaces.members.other": "{count} members",
  "spaces.join": "Join",
  "spaces.joinLabel": "Join {room}",
  "spaces.open": "Open",
  "spaces.openLabel": "Open {room}",
  "spaces.more": "Show more",
  "spaces.loading": "Loading…",
  "spaces.rooms": "Rooms in this space",
  "spaces.empty": "This space has no rooms yet.",
  "spaces.loadFailed": "The rooms of this space could not be loaded.",
  "spaces.failed": "That did not work.",
  "spaces.denied": "You are not allowed to do this here.",
  "spaces.addExisting": "Add existing room",
  "spaces.addNew": "Add new room",
  "spaces.invite": "Invite people",
  "spaces.settings": "Settings",
  "spaces.leave": "Leave space",
  "spaces.cancel": "Cancel",
  "spaces.close": "Close",
  "spaces.name": "Name",
  "spaces.topic": "Description (optional)",
  "spaces.access": "Who can join",
  "spaces.create.intro": "A space gathers the rooms of a department or a team in one place.",
  "spaces.create.private": "Private: only people who are invited",
  "spaces.create.public": "Public: anyone on the server can find and join it",
  "spaces.create.submit": "Create",
  "spaces.create.busy": "Creating…",
  "spaces.newRoom.title": "Add a new room to {space}",
  "spaces.newRoom.members": "Members of the space",
  "spaces.newRoom.invited": "Only people who are invited",
  "spaces.newRoom.hint": "Messages in the new room are end-to-end encrypted.",
  "spaces.newRoom.submit": "Create and add",
  "spaces.existing.title": "Add existing rooms to {space}",
  "spaces.existing.none": "All your rooms are already in this space.",
  "spaces.existing.submit": "Add",
  "spaces.existing.busy": "Adding…",
  "spaces.explore.search": "Search rooms",
  "spaces.explore.list": "Public rooms",
  "spaces.explore.none": "No public rooms found.",
};

/** A key of these messages. */
export type SpacesKey = keyof typeof en;

const fr: Readonly<Record<SpacesKey, string>> = {
  "spaces.nav": "Espaces",
  "spaces.picker": "Espace",
  "spaces.all": "Toutes les conversations",
  "spaces.create": "Créer un espace",
  "spaces.explore": "Explorer les salons publics",
  "spaces.home": "Accueil de l’espace",
  "spaces.kind": "Espace",
  "spaces.unreadIn": "{space}, messages non lus",
  "spaces.unnamed": "Salon sans nom",
  "spaces.members.one": "{count} membre",
  "spaces.members.other": "{count} membres",
  "spaces.join": "Rejoindre",
  "spaces.joinLabel": "Rejoindre {room}",
  "spaces.open": "Ouvrir",
  "spaces.openLabel": "Ouvrir {room}",
  "spaces.more": "Afficher plus",
  "spaces.loading": "Chargement…",
  "spaces.rooms": "Salons de cet espace",
  "spaces.empty": "Cet espace n’a pas encore de salon.",
  "spaces.loadFailed": "Les salons de cet espace n’ont pas pu être chargés.",
  "spaces.failed": "Cela n’a pas fonctionné.",
  "spaces.denied": "Vous n’avez pas le droit de faire cela ici.",
  "spaces.addExisting": "Ajouter un salon existant",
  "spaces.addNew": "Ajouter un nouveau salon",
  "spaces.invite": "Inviter des personnes",
  "spaces.settings": "Paramètres",
  "spaces.leave": "Quitter l’espace",
  "spaces.cancel": "Annuler",
  "spaces.close": "Fermer",
  "spaces.name": "Nom",
  "spaces.topic": "Description (facultative)",
  "spaces.access": "Qui peut rejoindre",
  "spaces.create.intro":
    "Un espace rassemble les salons d’un service ou d’une équipe en un seul endroit.",
  "spaces.create.private": "Privé : seulement les personnes invitées",
  "spaces.create.public": "Public : tout le monde sur le serveur peut le trouver et le rejoindre",
  "spaces.create.submit": "Créer",
  "spaces.create.busy": "Création…",
  "spaces.newRoom.title": "Ajouter un nouveau salon à {space}",
  "spaces.newRoom.members": "Les membres de l’espace",
  "spaces.newRoom.invited": "Seulement les personnes invitées",
  "spaces.newRoom.hint": "Les messages du nouveau salon sont chiffrés de bout en bout.",
  "spaces.newRoom.submit": "Créer et ajouter",
  "spaces.existing.title": "Ajouter des salons existants à {space}",
  "spaces.existing.none": "Tous vos salons sont déjà dans cet espace.",
  "spaces.existing.submit": "Ajouter",
  "spaces.existing.busy": "Ajout…",
  "spaces.explore.search": "Rechercher des salons",
  "spaces.explore.list": "Salons publics",
  "spaces.explore.none": "Aucun salon public trouvé.",
};

const de: Readonly<Record<SpacesKey, string>> = {
  "spaces.nav": "Bereiche",
  "spaces.picker": "Bereich",
  "spaces.all": "Alle Unterhaltungen",
  "spaces.create": "Bereich erstellen",
  "spaces.explore": "Öffentliche Räume entdecken",
  "spaces.home": "Startseite des Bereichs",
  "spaces.kind": "Bereich",
  "spaces.unreadIn": "{space}, ungelesene Nachrichten",
  "spaces.unnamed": "Raum ohne Namen",
  "spaces.members.one": "{count} Mitglied",
  "spaces.members.other": "{count} Mitglieder",
  "spaces.join": "Beitreten",
  "spaces.joinLabel": "{room} beitreten",
  "spaces.open": "Öffnen",
  "spaces.openLabel": "{room} öffnen",
  "spaces.more": "Mehr anzeigen",
  "spaces.loading": "Wird geladen…",
  "spaces.rooms": "Räume in diesem Bereich",
  "spaces.empty": "Dieser Bereich hat noch keine Räume.",
  "spaces.loadFailed": "Die Räume dieses Bereichs konnten nicht geladen werden.",
  "spaces.failed": "Das hat nicht geklappt.",
  "spaces.denied": "Sie dürfen das hier nicht tun.",
  "spaces.addExisting": "Vorhandenen Raum hinzufügen",
  "spaces.addNew": "Neuen Raum hinzufügen",
  "spaces.invite": "Personen einladen",
  "spaces.settings": "Einstellungen",
  "spaces.leave": "Bereich verlassen",
  "spaces.cancel": "Abbrechen",
  "spaces.close": "Schließen",
  "spaces.name": "Name",
  "spaces.topic": "Beschreibung (optional)",
  "spaces.access": "Wer beitreten kann",
  "spaces.create.intro":
    "Ein Bereich fasst die Räume einer Abteilung oder eines Teams an einem Ort zusammen.",
  "spaces.create.private": "Privat: nur eingeladene Personen",
  "spaces.create.public": "Öffentlich: alle auf dem Server können ihn finden und beitreten",
  "spaces.create.submit": "Erstellen",
  "spaces.create.busy": "Wird erstellt…",
  "spaces.newRoom.title": "Neuen Raum zu {space} hinzufügen",
  "spaces.newRoom.members": "Mitglieder des Bereichs",
  "spaces.newRoom.invited": "Nur eingeladene Personen",
  "spaces.newRoom.hint": "Nachrichten im neuen Raum sind Ende-zu-Ende-verschlüsselt.",
  "spaces.newRoom.submit": "Erstellen und hinzufügen",
  "spaces.existing.title": "Vorhandene Räume zu {space} hinzufügen",
  "spaces.existing.none": "Alle Ihre Räume sind schon in diesem Bereich.",
  "spaces.existing.submit": "Hinzufügen",
  "spaces.existing.busy": "Wird hinzugefügt…",
  "spaces.explore.search": "Räume suchen",
  "spaces.explore.list": "Öffentliche Räume",
  "spaces.explore.none": "Keine öffentlichen Räume gefunden.",
};

const lb: Readonly<Record<SpacesKey, string>> = {
  "spaces.nav": "Beräicher",
  "spaces.picker": "Beräich",
  "spaces.all": "All d’Gespréicher",
  "spaces.create": "Beräich uleeën",
  "spaces.explore": "Ëffentlech Raim entdecken",
  "spaces.home": "Startsäit vum Beräich",
  "spaces.kind": "Beräich",
  "spaces.unreadIn": "{space}, ongelies Messagen",
  "spaces.unnamed": "Raum ouni Numm",
  "spaces.members.one": "{count} Member",
  "spaces.members.other": "{count} Memberen",
  "spaces.join": "Bäitrieden",
  "spaces.joinLabel": "{room} bäitrieden",
  "spaces.open": "Opmaachen",
  "spaces.openLabel": "{room} opmaachen",
  "spaces.more": "Méi weisen",
  "spaces.loading": "Gëtt gelueden…",
  "spaces.rooms": "Raim an dësem Beräich",
  "spaces.empty": "Dëse Beräich huet nach keng Raim.",
  "spaces.loadFailed": "D’Raim vun dësem Beräich konnten net gelueden ginn.",
  "spaces.failed": "Dat huet net geklappt.",
  "spaces.denied": "Dir däerft dat hei net maachen.",
  "spaces.addExisting": "Bestoende Raum derbäisetzen",
  "spaces.addNew": "Neie Raum derbäisetzen",
  "spaces.invite": "Leit invitéieren",
  "spaces.settings": "Astellungen",
  "spaces.leave": "Beräich verloossen",
  "spaces.cancel": "Ofbriechen",
  "spaces.close": "Zoumaachen",
  "spaces.name": "Numm",
  "spaces.topic": "Beschreiwung (fräiwëlleg)",
  "spaces.access": "Wien ka bäitrieden",
  "spaces.create.intro":
    "E Beräich bréngt d’Raim vun enger Abteilung oder enger Equipe op eng Plaz zesummen.",
  "spaces.create.private": "Privat: nëmmen invitéiert Leit",
  "spaces.create.public": "Ëffentlech: jiddereen um Server kann en fannen a bäitrieden",
  "spaces.create.submit": "Uleeën",
  "spaces.create.busy": "Gëtt ugeluecht…",
  "spaces.newRoom.title": "Neie Raum bei {space} derbäisetzen",
  "spaces.newRoom.members": "Membere vum Beräich",
  "spaces.newRoom.invited": "Nëmmen invitéiert Leit",
  "spaces.newRoom.hint": "D’Messagen am neie Raum sinn Enn-zu-Enn-verschlësselt.",
  "spaces.newRoom.submit": "Uleeën an derbäisetzen",
  "spaces.existing.title": "Bestoend Raim bei {space} derbäisetzen",
  "spaces.existing.none": "All Är Raim sinn schonn an dësem Beräich.",
  "spaces.existing.submit": "Derbäisetzen",
  "spaces.existing.busy": "Gëtt derbäigesat…",
  "spaces.explore.search": "Raim sichen",
  "spaces.explore.list": "Ëffentlech Raim",
  "spaces.explore.none": "Keng ëffentlech Raim fonnt.",
};

/** The messages in each language. */
export const spacesMessages: Readonly<Record<Locale, Readonly<Record<SpacesKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, `{name}` placeholders filled. */
export function spacesText(locale: Locale, key: SpacesKey, params?: MessageParams): string {
  const template = spacesMessages[locale][key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : String(value);
  });
}

/**
 * "{count} members" in `locale`, the plural chosen and the number written by `Intl`
 * (Luxembourgish with Luxembourg's German conventions, which ICU has where it lacks `lb`).
 */
export function membersText(locale: Locale, count: number): string {
  const tag = locale === "lb" ? "de-LU" : locale;
  const one = new Intl.PluralRules(tag).select(count) === "one";
  return spacesText(locale, one ? "spaces.members.one" : "spaces.members.other", {
    count: new Intl.NumberFormat(tag).format(count),
  });
}
