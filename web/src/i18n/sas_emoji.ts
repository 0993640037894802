/**
 * Names of the 64 emoji of SAS verification (the spec's "SAS method: emoji" table) in the app's
 * languages. Both people compare the emoji and read the names aloud, so the names follow the
 * spec's common translations (data-definitions/sas-emoji.json of the Matrix spec, French and
 * German) where they exist; Luxembourgish has none there and is ours.
 *
 * @module
 */

import type { Locale } from "./index.ts";

/** English name (as matrix-js-sdk gives it), French, German, Luxembourgish; spec order. */
const NAMES: readonly (readonly [string, string, string, string])[] = [
  ["Dog", "Chien", "Hund", "Hond"],
  ["Cat", "Chat", "Katze", "Kaz"],
  ["Lion", "Lion", "Löwe", "Léiw"],
  ["Horse", "Cheval", "Pferd", "Päerd"],
  ["Unicorn", "Licorne", "Einhorn", "Eenhoorn"],
  ["Pig", "Cochon", "Schwein", "Schwäin"],
  ["Elephant", "Éléphant", "Elefant", "Elefant"],
  ["Rabbit", "Lapin", "Hase", "Kanéngchen"],
  ["Panda", "Panda", "Panda", "Panda"],
  ["Rooster", "Coq", "Hahn", "Hunn"],
  ["Penguin", "Manchot", "Pinguin", "Pinguin"],
  ["Turtle", "Tortue", "Schildkröte", "Schildkröt"],
  ["Fish", "Poisson", "Fisch", "Fësch"],
  ["Octopus", "Poulpe", "Oktopus", "Kraak"],
  ["Butterfly", "Papillon", "Schmetterling", "Päiperlek"],
  ["Flower", "Fleur", "Blume", "Blumm"],
  ["Tree", "Arbre", "Baum", "Bam"],
  ["Cactus", "Cactus", "Kaktus", "Kaktus"],
  ["Mushroom", "Champignon", "Pilz", "Schwamm"],
  ["Globe", "Globe", "Globus", "Globus"],
  ["Moon", "Lune", "Mond", "Mound"],
  ["Cloud", "Nuage", "Wolke", "Wollek"],
  ["Fire", "Feu", "Feuer", "Feier"],
  ["Banana", "Banane", "Banane", "Banann"],
  ["Apple", "Pomme", "Apfel", "Apel"],
  ["Strawberry", "Fraise", "Erdbeere", "Äerdbier"],
  ["Corn", "Maïs", "Mais", "Mais"],
  ["Pizza", "Pizza", "Pizza", "Pizza"],
  ["Cake", "Gâteau", "Kuchen", "Kuch"],
  ["Heart", "Cœur", "Herz", "Häerz"],
  ["Smiley", "Sourire", "Lächeln", "Laachen"],
  ["Robot", "Robot", "Roboter", "Roboter"],
  ["Hat", "Chapeau", "Hut", "Hutt"],
  ["Glasses", "Lunettes", "Brille", "Brëll"],
  ["Spanner", "Clé à molette", "Schraubenschlüssel", "Schrauwenschlëssel"],
  ["Santa", "Père Noël", "Weihnachtsmann", "Chrëschtmann"],
  ["Thumbs Up", "Pouce en l’air", "Daumen Hoch", "Daum erop"],
  ["Umbrella", "Parapluie", "Regenschirm", "Prabbeli"],
  ["Hourglass", "Sablier", "Sanduhr", "Sanduer"],
  ["Clock", "Réveil", "Uhr", "Auer"],
  ["Gift", "Cadeau", "Geschenk", "Kaddo"],
  ["Light Bulb", "Ampoule", "Glühbirne", "Glühbir"],
  ["Book", "Livre", "Buch", "Buch"],
  ["Pencil", "Crayon", "Bleistift", "Bläistëft"],
  ["Paperclip", "Trombone", "Büroklammer", "Büroklammer"],
  ["Scissors", "Ciseaux", "Schere", "Schéier"],
  ["Lock", "Cadenas", "Schloss", "Schlass"],
  ["Key", "Clé", "Schlüssel", "Schlëssel"],
  ["Hammer", "Marteau", "Hammer", "Hummer"],
  ["Telephone", "Téléphone", "Telefon", "Telefon"],
  ["Flag", "Drapeau", "Flagge", "Fändel"],
  ["Train", "Train", "Zug", "Zuch"],
  ["Bicycle", "Vélo", "Fahrrad", "Vëlo"],
  ["Aeroplane", "Avion", "Flugzeug", "Fliger"],
  ["Rocket", "Fusée", "Rakete", "Rakéit"],
  ["Trophy", "Trophée", "Pokal", "Pokal"],
  ["Ball", "Ballon", "Ball", "Ball"],
  ["Guitar", "Guitare", "Gitarre", "Gittar"],
  ["Trumpet", "Trompette", "Trompete", "Trompett"],
  ["Bell", "Cloche", "Glocke", "Klack"],
  ["Anchor", "Ancre", "Anker", "Anker"],
  ["Headphones", "Casque audio", "Kopfhörer", "Kopfhörer"],
  ["Folder", "Dossier", "Ordner", "Dossier"],
  ["Pin", "Punaise", "Stecknadel", "Spéngel"],
];

const COLUMN: Readonly<Record<Locale, number>> = { en: 0, fr: 1, de: 2, lb: 3 };

const BY_ENGLISH = new Map(NAMES.map((row) => [row[0].toLowerCase(), row]));

/** The name of a SAS emoji in `locale`, from its English name; the English name if unknown. */
export function sasEmojiName(englishName: string, locale: Locale): string {
  const row = BY_ENGLISH.get(englishName.toLowerCase());
  return row ? row[COLUMN[locale]] : englishName;
}

/** How many emoji the table has (the spec defines 64). */
export const SAS_EMOJI_COUNT: number = NAMES.length;
