/**
 * Messages of location sharing and maps.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {
  "location.share": "Share location",
  "location.dialog.title": "Share location",
  "location.dialog.intro": "Share where you are now, or pick a place on the map.",
  "location.mine": "Share my current location",
  "location.pick": "Pick a place on the map",
  "location.locating": "Finding your location…",
  "location.mineHint": "Your current location, as this device knows it.",
  "location.pinHint": "Click the map, or use the arrow keys, to move the pin. + and − zoom.",
  "location.picker": "Map: click or use the arrow keys to place the pin",
  "location.description": "Description (optional)",
  "location.send": "Send location",
  "location.sending": "Sending…",
  "location.back": "Back",
  "location.cancel": "Cancel",
  "location.map": "Map",
  "location.zoomIn": "Zoom in",
  "location.zoomOut": "Zoom out",
  "location.openInMap": "Open in map",
  "location.openGeo": "Open in a maps app",
  "location.coordinates": "{latitude}, {longitude}",
  "location.accuracy": "within {metres} m",
  "location.coordinatesAccuracy": "{coordinates} ({accuracy})",
  "location.of": "Location of {name}",
  "location.pinned": "Pinned location",
  "location.mapUnavailable": "The map could not be loaded.",
  "location.mapUnavailablePicker":
    "The map could not be loaded. You can still move the pin with the arrow keys; its coordinates show below.",
  "location.invalid": "This location cannot be read.",
  "location.selected": "Selected place: {coordinates}",
  "location.text.self": "My location: {uri}",
  "location.text.pin": "Location: {uri}",
  "location.text.described": "{description}: {uri}",
  "location.error.denied":
    "This browser is not allowed to share your location. You can pick a place on the map instead.",
  "location.error.unavailable":
    "Your location could not be found. You can pick a place on the map instead.",
  "location.error.timeout":
    "Finding your location took too long. Try again, or pick a place on the map.",
  "location.error.unsupported": "This browser cannot tell your location.",
  "location.error.send": "The location could not be sent: {message}",
} as const;

const fr: Readonly<Record<keyof typeof en, string>> = {
  "location.share": "Partager une position",
  "location.dialog.title": "Partager une position",
  "location.dialog.intro": "Partagez l’endroit où vous êtes, ou choisissez un lieu sur la carte.",
  "location.mine": "Partager ma position actuelle",
  "location.pick": "Choisir un lieu sur la carte",
  "location.locating": "Recherche de votre position…",
  "location.mineHint": "Votre position actuelle, telle que cet appareil la connaît.",
  "location.pinHint":
    "Cliquez sur la carte ou utilisez les flèches pour déplacer l’épingle. + et − zooment.",
  "location.picker": "Carte : cliquez ou utilisez les flèches pour placer l’épingle",
  "location.description": "Description (facultative)",
  "location.send": "Envoyer la position",
  "location.sending": "Envoi…",
  "location.back": "Retour",
  "location.cancel": "Annuler",
  "location.map": "Carte",
  "location.zoomIn": "Zoom avant",
  "location.zoomOut": "Zoom arrière",
  "location.openInMap": "Ouvrir dans une carte",
  "location.openGeo": "Ouvrir dans une application de cartes",
  "location.coordinates": "{latitude}, {longitude}",
  "location.accuracy": "à {metres} m près",
  "location.coordinatesAccuracy": "{coordinates} ({accuracy})",
  "location.of": "Position de {name}",
  "location.pinned": "Lieu épinglé",
  "location.mapUnavailable": "La carte n’a pas pu être chargée.",
  "location.mapUnavailablePicker":
    "La carte n’a pas pu être chargée. Les flèches du clavier déplacent toujours l’épingle ; ses coordonnées s’affichent ci-dessous.",
  "location.invalid": "Cette position ne peut pas être lue.",
  "location.selected": "Lieu choisi : {coordinates}",
  "location.text.self": "Ma position : {uri}",
  "location.text.pin": "Lieu : {uri}",
  "location.text.described": "{description} : {uri}",
  "location.error.denied":
    "Ce navigateur n’est pas autorisé à partager votre position. Vous pouvez choisir un lieu sur la carte.",
  "location.error.unavailable":
    "Votre position n’a pas pu être trouvée. Vous pouvez choisir un lieu sur la carte.",
  "location.error.timeout":
    "La recherche de votre position a pris trop de temps. Réessayez ou choisissez un lieu sur la carte.",
  "location.error.unsupported": "Ce navigateur ne peut pas indiquer votre position.",
  "location.error.send": "La position n’a pas pu être envoyée : {message}",
};

const de: Readonly<Record<keyof typeof en, string>> = {
  "location.share": "Standort teilen",
  "location.dialog.title": "Standort teilen",
  "location.dialog.intro":
    "Teilen Sie, wo Sie gerade sind, oder wählen Sie einen Ort auf der Karte.",
  "location.mine": "Meinen aktuellen Standort teilen",
  "location.pick": "Ort auf der Karte wählen",
  "location.locating": "Ihr Standort wird ermittelt…",
  "location.mineHint": "Ihr aktueller Standort, wie dieses Gerät ihn kennt.",
  "location.pinHint":
    "Klicken Sie auf die Karte oder nutzen Sie die Pfeiltasten, um die Stecknadel zu bewegen. + und − zoomen.",
  "location.picker": "Karte: klicken oder mit den Pfeiltasten die Stecknadel setzen",
  "location.description": "Beschreibung (optional)",
  "location.send": "Standort senden",
  "location.sending": "Wird gesendet…",
  "location.back": "Zurück",
  "location.cancel": "Abbrechen",
  "location.map": "Karte",
  "location.zoomIn": "Vergrößern",
  "location.zoomOut": "Verkleinern",
  "location.openInMap": "In Karte öffnen",
  "location.openGeo": "In einer Karten-App öffnen",
  "location.coordinates": "{latitude}, {longitude}",
  "location.accuracy": "auf {metres} m genau",
  "location.coordinatesAccuracy": "{coordinates} ({accuracy})",
  "location.of": "Standort von {name}",
  "location.pinned": "Markierter Ort",
  "location.mapUnavailable": "Die Karte konnte nicht geladen werden.",
  "location.mapUnavailablePicker":
    "Die Karte konnte nicht geladen werden. Die Stecknadel lässt sich trotzdem mit den Pfeiltasten verschieben; ihre Koordinaten stehen darunter.",
  "location.invalid": "Dieser Standort kann nicht gelesen werden.",
  "location.selected": "Gewählter Ort: {coordinates}",
  "location.text.self": "Mein Standort: {uri}",
  "location.text.pin": "Ort: {uri}",
  "location.text.described": "{description}: {uri}",
  "location.error.denied":
    "Dieser Browser darf Ihren Standort nicht teilen. Sie können stattdessen einen Ort auf der Karte wählen.",
  "location.error.unavailable":
    "Ihr Standort wurde nicht gefunden. Sie können stattdessen einen Ort auf der Karte wählen.",
  "location.error.timeout":
    "Die Standortsuche hat zu lange gedauert. Versuchen Sie es erneut oder wählen Sie einen Ort auf der Karte.",
  "location.error.unsupported": "Dieser Browser kann Ihren Standort nicht bestimmen.",
  "location.error.send": "Der Standort konnte nicht gesendet werden: {message}",
};

const lb: Readonly<Record<keyof typeof en, string>> = {
  "location.share": "Standuert deelen",
  "location.dialog.title": "Standuert deelen",
  "location.dialog.intro": "Deelt, wou Dir elo sidd, oder wielt eng Plaz op der Kaart.",
  "location.mine": "Mäin aktuelle Standuert deelen",
  "location.pick": "Eng Plaz op der Kaart wielen",
  "location.locating": "Ären Standuert gëtt gesicht…",
  "location.mineHint": "Ären aktuelle Standuert, esou wéi dësen Apparat e kennt.",
  "location.pinHint":
    "Klickt op d’Kaart oder benotzt d’Feiltasten, fir d’Nol ze réckelen. + an − zoomen.",
  "location.picker": "Kaart: klickt oder benotzt d’Feiltasten, fir d’Nol ze setzen",
  "location.description": "Beschreiwung (fakultativ)",
  "location.send": "Standuert schécken",
  "location.sending": "Gëtt geschéckt…",
  "location.back": "Zréck",
  "location.cancel": "Ofbriechen",
  "location.map": "Kaart",
  "location.zoomIn": "Méi no",
  "location.zoomOut": "Méi wäit",
  "location.openInMap": "Op der Kaart opmaachen",
  "location.openGeo": "An enger Kaarten-App opmaachen",
  "location.coordinates": "{latitude}, {longitude}",
  "location.accuracy": "op {metres} m genee",
  "location.coordinatesAccuracy": "{coordinates} ({accuracy})",
  "location.of": "Standuert vun {name}",
  "location.pinned": "Markéiert Plaz",
  "location.mapUnavailable": "D’Kaart konnt net geluede ginn.",
  "location.mapUnavailablePicker":
    "D’Kaart konnt net geluede ginn. D’Nol léisst sech trotzdem mat de Pfeiltaste réckelen; hir Koordinaten stinn hei drënner.",
  "location.invalid": "Dëse Standuert kann net gelies ginn.",
  "location.selected": "Gewielte Plaz: {coordinates}",
  "location.text.self": "Mäi Standuert: {uri}",
  "location.text.pin": "Plaz: {uri}",
  "location.text.described": "{description}: {uri}",
  "location.error.denied":
    "Dëse Browser däerf Ären Standuert net deelen. Dir kënnt amplaz eng Plaz op der Kaart wielen.",
  "location.error.unavailable":
    "Ären Standuert gouf net fonnt. Dir kënnt amplaz eng Plaz op der Kaart wielen.",
  "location.error.timeout":
    "D’Sich no Ärem Standuert huet ze laang gedauert. Probéiert nach eng Kéier oder wielt eng Plaz op der Kaart.",
  "location.error.unsupported": "Dëse Browser kann Ären Standuert net bestëmmen.",
  "location.error.send": "De Standuert konnt net geschéckt ginn: {message}",
};

/** Messages of location sharing and maps, in every language. */
export const locationMessages: FeatureMessages<typeof en> = { en, fr, de, lb };
