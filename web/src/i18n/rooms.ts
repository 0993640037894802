/**
 * Messages of creating rooms, room settings, notifications.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {
  "rooms.cancel": "Cancel",
  "rooms.close": "Close",
  "rooms.error.failed": "That did not work.",
  "rooms.error.forbidden": "The server refused: your role in this room does not allow it.",
  "rooms.error.rateLimited": "Too many requests. Wait a moment and try again.",
  "rooms.error.tooLarge": "This file is larger than the server accepts.",

  "rooms.list.startChat": "Start chat",
  "rooms.list.newGroup": "New group",

  "rooms.picker.label": "Search people",
  "rooms.picker.hint": "A name, or a full Matrix ID such as @anna:example.org.",
  "rooms.picker.searching": "Searching…",
  "rooms.picker.none": "Nobody found for “{query}”.",
  "rooms.picker.failed": "The directory could not be searched. A full Matrix ID still works.",
  "rooms.picker.results": "People found",
  "rooms.picker.chosen": "Chosen",
  "rooms.picker.add": "Adds this person to those invited.",
  "rooms.picker.remove": "Remove {name}",

  "rooms.startChat.title": "Start a chat",
  "rooms.startChat.intro":
    "Find someone by name or Matrix ID. Your chat is end-to-end encrypted; if you already have one with them, it opens.",
  "rooms.startChat.pick": "Opens your chat with this person.",
  "rooms.startChat.opening": "Opening the chat…",

  "rooms.group.title": "New group",
  "rooms.group.name": "Group name",
  "rooms.group.topic": "Topic (optional)",
  "rooms.group.encrypted": "End-to-end encrypted",
  "rooms.group.encryptedHint":
    "Only the members can read the messages. Encryption cannot be turned off later.",
  "rooms.group.plainHint":
    "Messages are stored readable on the server. You can turn encryption on later, but never off again.",
  "rooms.group.encryptedForced":
    "This server encrypts every private group: only the members can read the messages.",
  "rooms.group.nameMissing": "Give the group a name.",
  "rooms.group.create": "Create group",
  "rooms.group.creating": "Creating…",

  "rooms.header.settings": "Room settings",
  "rooms.header.invite": "Invite people",
  "rooms.header.leave": "Leave room",
  "rooms.header.menu": "Room options",

  "rooms.invite.title": "Invite people to {room}",
  "rooms.invite.nobody": "Choose at least one person.",
  "rooms.invite.send": "Send invitations",
  "rooms.invite.sending": "Inviting…",

  "rooms.leave.title": "Leave {room}?",
  "rooms.leave.warning":
    "You will no longer receive its messages. To come back to a private room, someone has to invite you again.",
  "rooms.leave.confirm": "Leave",
  "rooms.leave.leaving": "Leaving…",

  "rooms.settings.title": "Settings of {room}",
  "rooms.settings.unavailable": "This room is not available on this device.",
  "rooms.settings.avatar": "Room picture",
  "rooms.settings.removeAvatar": "Remove picture",
  "rooms.settings.uploading": "Uploading the picture…",
  "rooms.settings.avatarNotImage": "Choose an image (PNG, JPEG, GIF or WebP).",
  "rooms.settings.name": "Room name",
  "rooms.settings.topic": "Topic",
  "rooms.settings.save": "Save",
  "rooms.settings.saving": "Saving…",
  "rooms.settings.upToDate": "Saved.",
  "rooms.settings.needPower": "Your role in this room does not allow changing this.",
  "rooms.settings.encryption": "Encryption",
  "rooms.settings.encryptedOn":
    "Messages here are end-to-end encrypted. Encryption cannot be turned off.",
  "rooms.settings.encryptedOff": "Messages here are not encrypted.",
  "rooms.settings.encrypt": "Turn on encryption",
  "rooms.settings.encryptForGood": "Once on, encryption cannot be turned off again.",
  "rooms.settings.encryptWarning":
    "Encryption stays on for good. New members will not be able to read older messages, and bots or bridges may stop working.",
  "rooms.settings.encryptConfirm": "Turn on for good",

  "rooms.role.admin": "Admin",
  "rooms.role.moderator": "Moderator",
  "rooms.role.member": "Member",
  "rooms.role.creator": "Owner",
  "rooms.role.custom": "Custom ({level})",

  "rooms.members.count.one": "{count} member",
  "rooms.members.count.other": "{count} members",
  "rooms.members.invite": "Invite",
  "rooms.members.you": "you",
  "rooms.members.invited": "invited",
  "rooms.members.banned": "banned",
  "rooms.members.yourRole": "Your role: {role}.",
  "rooms.members.powerNote":
    "Roles can be changed by those allowed to, for people below their own role and up to it.",
  "rooms.members.roleOf": "Role of {name}",
  "rooms.members.remove": "Remove",
  "rooms.members.removeLabel": "Remove {name}",
  "rooms.members.ban": "Ban",
  "rooms.members.banLabel": "Ban {name}",
  "rooms.members.unban": "Unban",
  "rooms.members.unbanLabel": "Unban {name}",
  "rooms.members.kickTitle": "Remove {name}?",
  "rooms.members.kickWarning": "{name} leaves the room and can come back only if invited again.",
  "rooms.members.banTitle": "Ban {name}?",
  "rooms.members.banWarning": "{name} leaves the room and cannot come back until unbanned.",
  "rooms.members.demoteTitle": "Lower your own role?",
  "rooms.members.demoteWarning":
    "You cannot undo this: only someone with a higher role can give it back.",
  "rooms.members.demote": "Lower my role",

  "rooms.notifications.title": "Notifications",
  "rooms.notifications.toggle": "Desktop notifications for new messages",
  "rooms.notifications.on":
    "On: new messages show a notification while gemeng is open, except in the conversation you are looking at.",
  "rooms.notifications.off": "Off.",
  "rooms.notifications.asking": "Waiting for the browser’s permission…",
  "rooms.notifications.denied":
    "The browser blocks notifications for this site. Allow them in the browser’s site settings, then come back.",
  "rooms.notifications.unsupported": "This browser cannot show notifications.",
  "rooms.notifications.closed":
    "They also arrive when gemeng is closed, sent by your server through the browser.",

  "rooms.notify.text": "{sender}: {text}",
  "rooms.notify.image": "{sender} sent an image",
  "rooms.notify.video": "{sender} sent a video",
  "rooms.notify.audio": "{sender} sent an audio file",
  "rooms.notify.voice": "{sender} sent a voice message",
  "rooms.notify.file": "{sender} sent a file",
  "rooms.notify.location": "{sender} shared a location",
  "rooms.notify.sticker": "{sender} sent a sticker",
  "rooms.notify.poll": "{sender} started a poll",
  "rooms.notify.call": "{sender} is calling",
  "rooms.notify.encrypted": "{sender} sent an encrypted message",
  "rooms.notify.other": "{sender} sent a message",
  "rooms.notify.new": "New message",

  "rooms.preview.you": "You",
  "rooms.preview.from": "{sender}: {text}",
  "rooms.preview.emote": "* {sender} {text}",
  "rooms.preview.encrypted": "Encrypted message",
  "rooms.preview.deleted": "Message deleted",
  "rooms.preview.image": "Picture",
  "rooms.preview.video": "Video file",
  "rooms.preview.audio": "Audio file",
  "rooms.preview.voice": "Voice message",
  "rooms.preview.file": "File",
  "rooms.preview.location": "Location",
  "rooms.preview.poll": "Poll",
  "rooms.preview.pollQuestion": "Poll: {question}",
  "rooms.preview.call": "Call",
  "rooms.preview.other": "Unsupported message",
} as const;

const fr: Readonly<Record<keyof typeof en, string>> = {
  "rooms.cancel": "Annuler",
  "rooms.close": "Fermer",
  "rooms.error.failed": "Cela n’a pas fonctionné.",
  "rooms.error.forbidden": "Le serveur a refusé : votre rôle dans ce salon ne le permet pas.",
  "rooms.error.rateLimited": "Trop de demandes. Attendez un instant et réessayez.",
  "rooms.error.tooLarge": "Ce fichier dépasse la taille acceptée par le serveur.",

  "rooms.list.startChat": "Nouvelle discussion",
  "rooms.list.newGroup": "Nouveau groupe",

  "rooms.picker.label": "Chercher des personnes",
  "rooms.picker.hint": "Un nom, ou un identifiant Matrix complet comme @anna:example.org.",
  "rooms.picker.searching": "Recherche…",
  "rooms.picker.none": "Personne trouvé pour « {query} ».",
  "rooms.picker.failed":
    "L’annuaire n’a pas pu être consulté. Un identifiant Matrix complet fonctionne quand même.",
  "rooms.picker.results": "Personnes trouvées",
  "rooms.picker.chosen": "Choisis",
  "rooms.picker.add": "Ajoute cette personne aux invités.",
  "rooms.picker.remove": "Retirer {name}",

  "rooms.startChat.title": "Commencer une discussion",
  "rooms.startChat.intro":
    "Trouvez quelqu’un par son nom ou son identifiant Matrix. La discussion est chiffrée de bout en bout ; si vous en avez déjà une avec cette personne, elle s’ouvre.",
  "rooms.startChat.pick": "Ouvre votre discussion avec cette personne.",
  "rooms.startChat.opening": "Ouverture de la discussion…",

  "rooms.group.title": "Nouveau groupe",
  "rooms.group.name": "Nom du groupe",
  "rooms.group.topic": "Sujet (facultatif)",
  "rooms.group.encrypted": "Chiffré de bout en bout",
  "rooms.group.encryptedHint":
    "Seuls les membres peuvent lire les messages. Le chiffrement ne pourra pas être désactivé.",
  "rooms.group.plainHint":
    "Les messages sont stockés lisibles sur le serveur. Vous pourrez activer le chiffrement plus tard, mais jamais le désactiver.",
  "rooms.group.encryptedForced":
    "Ce serveur chiffre tous les groupes privés : seuls les membres peuvent lire les messages.",
  "rooms.group.nameMissing": "Donnez un nom au groupe.",
  "rooms.group.create": "Créer le groupe",
  "rooms.group.creating": "Création…",

  "rooms.header.settings": "Paramètres du salon",
  "rooms.header.invite": "Inviter des personnes",
  "rooms.header.leave": "Quitter le salon",
  "rooms.header.menu": "Options du salon",

  "rooms.invite.title": "Inviter des personnes dans {room}",
  "rooms.invite.nobody": "Choisissez au moins une personne.",
  "rooms.invite.send": "Envoyer les invitations",
  "rooms.invite.sending": "Invitation…",

  "rooms.leave.title": "Quitter {room} ?",
  "rooms.leave.warning":
    "Vous ne recevrez plus ses messages. Pour revenir dans un salon privé, il faudra qu’on vous invite à nouveau.",
  "rooms.leave.confirm": "Quitter",
  "rooms.leave.leaving": "Départ…",

  "rooms.settings.title": "Paramètres de {room}",
  "rooms.settings.unavailable": "Ce salon n’est pas disponible sur cet appareil.",
  "rooms.settings.avatar": "Image du salon",
  "rooms.settings.removeAvatar": "Retirer l’image",
  "rooms.settings.uploading": "Envoi de l’image…",
  "rooms.settings.avatarNotImage": "Choisissez une image (PNG, JPEG, GIF ou WebP).",
  "rooms.settings.name": "Nom du salon",
  "rooms.settings.topic": "Sujet",
  "rooms.settings.save": "Enregistrer",
  "rooms.settings.saving": "Enregistrement…",
  "rooms.settings.upToDate": "Enregistré.",
  "rooms.settings.needPower": "Votre rôle dans ce salon ne permet pas de modifier ceci.",
  "rooms.settings.encryption": "Chiffrement",
  "rooms.settings.encryptedOn":
    "Les messages ici sont chiffrés de bout en bout. Le chiffrement ne peut pas être désactivé.",
  "rooms.settings.encryptedOff": "Les messages ici ne sont pas chiffrés.",
  "rooms.settings.encrypt": "Activer le chiffrement",
  "rooms.settings.encryptForGood": "Une fois activé, le chiffrement ne peut plus être désactivé.",
  "rooms.settings.encryptWarning":
    "Le chiffrement reste activé pour toujours. Les nouveaux membres ne pourront pas lire les anciens messages, et des robots ou passerelles pourraient cesser de fonctionner.",
  "rooms.settings.encryptConfirm": "Activer définitivement",

  "rooms.role.admin": "Administrateur",
  "rooms.role.moderator": "Modérateur",
  "rooms.role.member": "Membre",
  "rooms.role.creator": "Propriétaire",
  "rooms.role.custom": "Personnalisé ({level})",

  "rooms.members.count.one": "{count} membre",
  "rooms.members.count.other": "{count} membres",
  "rooms.members.invite": "Inviter",
  "rooms.members.you": "vous",
  "rooms.members.invited": "invité",
  "rooms.members.banned": "banni",
  "rooms.members.yourRole": "Votre rôle : {role}.",
  "rooms.members.powerNote":
    "Les rôles peuvent être changés par les personnes autorisées, pour celles dont le rôle est inférieur au leur et jusqu’à leur propre rôle.",
  "rooms.members.roleOf": "Rôle de {name}",
  "rooms.members.remove": "Retirer",
  "rooms.members.removeLabel": "Retirer {name}",
  "rooms.members.ban": "Bannir",
  "rooms.members.banLabel": "Bannir {name}",
  "rooms.members.unban": "Lever le bannissement",
  "rooms.members.unbanLabel": "Lever le bannissement de {name}",
  "rooms.members.kickTitle": "Retirer {name} ?",
  "rooms.members.kickWarning":
    "{name} quitte le salon et ne pourra revenir que sur une nouvelle invitation.",
  "rooms.members.banTitle": "Bannir {name} ?",
  "rooms.members.banWarning":
    "{name} quitte le salon et ne pourra pas revenir tant que le bannissement n’est pas levé.",
  "rooms.members.demoteTitle": "Abaisser votre propre rôle ?",
  "rooms.members.demoteWarning":
    "Vous ne pourrez pas annuler ce changement : seule une personne de rôle supérieur pourra vous le rendre.",
  "rooms.members.demote": "Abaisser mon rôle",

  "rooms.notifications.title": "Notifications",
  "rooms.notifications.toggle": "Notifications de bureau pour les nouveaux messages",
  "rooms.notifications.on":
    "Activées : les nouveaux messages affichent une notification tant que gemeng est ouvert, sauf dans la conversation que vous regardez.",
  "rooms.notifications.off": "Désactivées.",
  "rooms.notifications.asking": "En attente de l’autorisation du navigateur…",
  "rooms.notifications.denied":
    "Le navigateur bloque les notifications pour ce site. Autorisez-les dans les paramètres du site, puis revenez.",
  "rooms.notifications.unsupported": "Ce navigateur ne peut pas afficher de notifications.",
  "rooms.notifications.closed":
    "Elles arrivent aussi quand gemeng est fermé, envoyées par le serveur via le navigateur.",

  "rooms.notify.text": "{sender} : {text}",
  "rooms.notify.image": "{sender} a envoyé une image",
  "rooms.notify.video": "{sender} a envoyé une vidéo",
  "rooms.notify.audio": "{sender} a envoyé un fichier audio",
  "rooms.notify.voice": "{sender} a envoyé un message vocal",
  "rooms.notify.file": "{sender} a envoyé un fichier",
  "rooms.notify.location": "{sender} a partagé une position",
  "rooms.notify.sticker": "{sender} a envoyé un autocollant",
  "rooms.notify.poll": "{sender} a lancé un sondage",
  "rooms.notify.call": "{sender} appelle",
  "rooms.notify.encrypted": "{sender} a envoyé un message chiffré",
  "rooms.notify.other": "{sender} a envoyé un message",
  "rooms.notify.new": "Nouveau message",

  "rooms.preview.you": "Vous",
  "rooms.preview.from": "{sender} : {text}",
  "rooms.preview.emote": "* {sender} {text}",
  "rooms.preview.encrypted": "Message chiffré",
  "rooms.preview.deleted": "Message supprimé",
  "rooms.preview.image": "Image",
  "rooms.preview.video": "Fichier vidéo",
  "rooms.preview.audio": "Fichier audio",
  "rooms.preview.voice": "Message vocal",
  "rooms.preview.file": "Fichier",
  "rooms.preview.location": "Position",
  "rooms.preview.poll": "Sondage",
  "rooms.preview.pollQuestion": "Sondage : {question}",
  "rooms.preview.call": "Appel",
  "rooms.preview.other": "Message non pris en charge",
};

const de: Readonly<Record<keyof typeof en, string>> = {
  "rooms.cancel": "Abbrechen",
  "rooms.close": "Schließen",
  "rooms.error.failed": "Das hat nicht geklappt.",
  "rooms.error.forbidden": "Der Server hat abgelehnt: Ihre Rolle in diesem Raum erlaubt das nicht.",
  "rooms.error.rateLimited":
    "Zu viele Anfragen. Warten Sie einen Moment und versuchen Sie es erneut.",
  "rooms.error.tooLarge": "Diese Datei ist größer, als der Server annimmt.",

  "rooms.list.startChat": "Neuer Chat",
  "rooms.list.newGroup": "Neue Gruppe",

  "rooms.picker.label": "Personen suchen",
  "rooms.picker.hint": "Ein Name oder eine vollständige Matrix-ID wie @anna:example.org.",
  "rooms.picker.searching": "Suche läuft…",
  "rooms.picker.none": "Niemand gefunden für „{query}“.",
  "rooms.picker.failed":
    "Das Verzeichnis konnte nicht durchsucht werden. Eine vollständige Matrix-ID funktioniert trotzdem.",
  "rooms.picker.results": "Gefundene Personen",
  "rooms.picker.chosen": "Ausgewählt",
  "rooms.picker.add": "Fügt diese Person den Eingeladenen hinzu.",
  "rooms.picker.remove": "{name} entfernen",

  "rooms.startChat.title": "Chat beginnen",
  "rooms.startChat.intro":
    "Finden Sie jemanden über Namen oder Matrix-ID. Der Chat ist Ende-zu-Ende-verschlüsselt; gibt es schon einen mit dieser Person, öffnet er sich.",
  "rooms.startChat.pick": "Öffnet Ihren Chat mit dieser Person.",
  "rooms.startChat.opening": "Chat wird geöffnet…",

  "rooms.group.title": "Neue Gruppe",
  "rooms.group.name": "Name der Gruppe",
  "rooms.group.topic": "Thema (optional)",
  "rooms.group.encrypted": "Ende-zu-Ende-verschlüsselt",
  "rooms.group.encryptedHint":
    "Nur die Mitglieder können die Nachrichten lesen. Die Verschlüsselung lässt sich später nicht ausschalten.",
  "rooms.group.plainHint":
    "Nachrichten werden lesbar auf dem Server gespeichert. Die Verschlüsselung lässt sich später einschalten, aber nie wieder aus.",
  "rooms.group.encryptedForced":
    "Dieser Server verschlüsselt alle privaten Gruppen: Nur die Mitglieder können die Nachrichten lesen.",
  "rooms.group.nameMissing": "Geben Sie der Gruppe einen Namen.",
  "rooms.group.create": "Gruppe erstellen",
  "rooms.group.creating": "Wird erstellt…",

  "rooms.header.settings": "Raumeinstellungen",
  "rooms.header.invite": "Personen einladen",
  "rooms.header.leave": "Raum verlassen",
  "rooms.header.menu": "Raumoptionen",

  "rooms.invite.title": "Personen in {room} einladen",
  "rooms.invite.nobody": "Wählen Sie mindestens eine Person.",
  "rooms.invite.send": "Einladungen senden",
  "rooms.invite.sending": "Wird eingeladen…",

  "rooms.leave.title": "{room} verlassen?",
  "rooms.leave.warning":
    "Sie erhalten seine Nachrichten nicht mehr. Um in einen privaten Raum zurückzukehren, muss Sie jemand erneut einladen.",
  "rooms.leave.confirm": "Verlassen",
  "rooms.leave.leaving": "Wird verlassen…",

  "rooms.settings.title": "Einstellungen von {room}",
  "rooms.settings.unavailable": "Dieser Raum ist auf diesem Gerät nicht verfügbar.",
  "rooms.settings.avatar": "Raumbild",
  "rooms.settings.removeAvatar": "Bild entfernen",
  "rooms.settings.uploading": "Bild wird hochgeladen…",
  "rooms.settings.avatarNotImage": "Wählen Sie ein Bild (PNG, JPEG, GIF oder WebP).",
  "rooms.settings.name": "Raumname",
  "rooms.settings.topic": "Thema",
  "rooms.settings.save": "Speichern",
  "rooms.settings.saving": "Wird gespeichert…",
  "rooms.settings.upToDate": "Gespeichert.",
  "rooms.settings.needPower": "Ihre Rolle in diesem Raum erlaubt es nicht, das zu ändern.",
  "rooms.settings.encryption": "Verschlüsselung",
  "rooms.settings.encryptedOn":
    "Nachrichten hier sind Ende-zu-Ende-verschlüsselt. Die Verschlüsselung lässt sich nicht ausschalten.",
  "rooms.settings.encryptedOff": "Nachrichten hier sind nicht verschlüsselt.",
  "rooms.settings.encrypt": "Verschlüsselung einschalten",
  "rooms.settings.encryptForGood":
    "Einmal eingeschaltet, lässt sich die Verschlüsselung nicht mehr ausschalten.",
  "rooms.settings.encryptWarning":
    "Die Verschlüsselung bleibt für immer an. Neue Mitglieder können ältere Nachrichten nicht lesen, und Bots oder Brücken funktionieren womöglich nicht mehr.",
  "rooms.settings.encryptConfirm": "Endgültig einschalten",

  "rooms.role.admin": "Admin",
  "rooms.role.moderator": "Moderator",
  "rooms.role.member": "Mitglied",
  "rooms.role.creator": "Eigentümer",
  "rooms.role.custom": "Eigene Stufe ({level})",

  "rooms.members.count.one": "{count} Mitglied",
  "rooms.members.count.other": "{count} Mitglieder",
  "rooms.members.invite": "Einladen",
  "rooms.members.you": "Sie",
  "rooms.members.invited": "eingeladen",
  "rooms.members.banned": "gesperrt",
  "rooms.members.yourRole": "Ihre Rolle: {role}.",
  "rooms.members.powerNote":
    "Rollen ändern kann, wer es darf – bei Personen unter der eigenen Rolle und höchstens bis zu ihr.",
  "rooms.members.roleOf": "Rolle von {name}",
  "rooms.members.remove": "Entfernen",
  "rooms.members.removeLabel": "{name} entfernen",
  "rooms.members.ban": "Sperren",
  "rooms.members.banLabel": "{name} sperren",
  "rooms.members.unban": "Entsperren",
  "rooms.members.unbanLabel": "{name} entsperren",
  "rooms.members.kickTitle": "{name} entfernen?",
  "rooms.members.kickWarning":
    "{name} verlässt den Raum und kann nur nach einer neuen Einladung zurückkommen.",
  "rooms.members.banTitle": "{name} sperren?",
  "rooms.members.banWarning":
    "{name} verlässt den Raum und kann nicht zurückkommen, bis die Sperre aufgehoben ist.",
  "rooms.members.demoteTitle": "Die eigene Rolle herabsetzen?",
  "rooms.members.demoteWarning":
    "Das lässt sich nicht rückgängig machen: Nur jemand mit höherer Rolle kann sie Ihnen zurückgeben.",
  "rooms.members.demote": "Meine Rolle herabsetzen",

  "rooms.notifications.title": "Benachrichtigungen",
  "rooms.notifications.toggle": "Desktop-Benachrichtigungen für neue Nachrichten",
  "rooms.notifications.on":
    "An: Neue Nachrichten zeigen eine Benachrichtigung, solange gemeng geöffnet ist, außer in der Unterhaltung, die Sie gerade ansehen.",
  "rooms.notifications.off": "Aus.",
  "rooms.notifications.asking": "Warten auf die Erlaubnis des Browsers…",
  "rooms.notifications.denied":
    "Der Browser blockiert Benachrichtigungen für diese Seite. Erlauben Sie sie in den Website-Einstellungen des Browsers und kommen Sie dann zurück.",
  "rooms.notifications.unsupported": "Dieser Browser kann keine Benachrichtigungen anzeigen.",
  "rooms.notifications.closed":
    "Sie kommen auch bei geschlossenem gemeng an, vom Server über den Browser gesendet.",

  "rooms.notify.text": "{sender}: {text}",
  "rooms.notify.image": "{sender} hat ein Bild gesendet",
  "rooms.notify.video": "{sender} hat ein Video gesendet",
  "rooms.notify.audio": "{sender} hat eine Audiodatei gesendet",
  "rooms.notify.voice": "{sender} hat eine Sprachnachricht gesendet",
  "rooms.notify.file": "{sender} hat eine Datei gesendet",
  "rooms.notify.location": "{sender} hat einen Standort geteilt",
  "rooms.notify.sticker": "{sender} hat einen Sticker gesendet",
  "rooms.notify.poll": "{sender} hat eine Umfrage gestartet",
  "rooms.notify.call": "{sender} ruft an",
  "rooms.notify.encrypted": "{sender} hat eine verschlüsselte Nachricht gesendet",
  "rooms.notify.other": "{sender} hat eine Nachricht gesendet",
  "rooms.notify.new": "Neue Nachricht",

  "rooms.preview.you": "Sie",
  "rooms.preview.from": "{sender}: {text}",
  "rooms.preview.emote": "* {sender} {text}",
  "rooms.preview.encrypted": "Verschlüsselte Nachricht",
  "rooms.preview.deleted": "Nachricht gelöscht",
  "rooms.preview.image": "Bild",
  "rooms.preview.video": "Videodatei",
  "rooms.preview.audio": "Audiodatei",
  "rooms.preview.voice": "Sprachnachricht",
  "rooms.preview.file": "Datei",
  "rooms.preview.location": "Standort",
  "rooms.preview.poll": "Umfrage",
  "rooms.preview.pollQuestion": "Umfrage: {question}",
  "rooms.preview.call": "Anruf",
  "rooms.preview.other": "Nicht unterstützte Nachricht",
};

const lb: Readonly<Record<keyof typeof en, string>> = {
  "rooms.cancel": "Ofbriechen",
  "rooms.close": "Zoumaachen",
  "rooms.error.failed": "Dat huet net geklappt.",
  "rooms.error.forbidden": "De Server huet refuséiert: Är Roll an dësem Raum erlaabt dat net.",
  "rooms.error.rateLimited": "Ze vill Ufroen. Waart e Moment a probéiert et nach eng Kéier.",
  "rooms.error.tooLarge": "Dëse Fichier ass méi grouss, wéi de Server et unhëlt.",

  "rooms.list.startChat": "Neie Chat",
  "rooms.list.newGroup": "Nei Grupp",

  "rooms.picker.label": "Leit sichen",
  "rooms.picker.hint": "En Numm, oder eng komplett Matrix-ID wéi @anna:example.org.",
  "rooms.picker.searching": "Gëtt gesicht…",
  "rooms.picker.none": "Keen fonnt fir „{query}“.",
  "rooms.picker.failed":
    "Am Verzeechnes konnt net gesicht ginn. Eng komplett Matrix-ID funktionéiert awer.",
  "rooms.picker.results": "Fonnt Leit",
  "rooms.picker.chosen": "Erausgesicht",
  "rooms.picker.add": "Setzt dës Persoun bei déi Invitéiert.",
  "rooms.picker.remove": "{name} ewechhuelen",

  "rooms.startChat.title": "E Chat ufänken",
  "rooms.startChat.intro":
    "Fannt een iwwer säin Numm oder seng Matrix-ID. De Chat ass vun Enn zu Enn verschlësselt; wann Dir schonn ee mat där Persoun hutt, geet dee op.",
  "rooms.startChat.pick": "Mécht Äre Chat mat dëser Persoun op.",
  "rooms.startChat.opening": "De Chat gëtt opgemaach…",

  "rooms.group.title": "Nei Grupp",
  "rooms.group.name": "Numm vun der Grupp",
  "rooms.group.topic": "Theema (fakultativ)",
  "rooms.group.encrypted": "Vun Enn zu Enn verschlësselt",
  "rooms.group.encryptedHint":
    "Just d’Memberen kënnen d’Messagen liesen. D’Verschlësselung kann een herno net méi ausschalten.",
  "rooms.group.plainHint":
    "D’Messagen ginn liesbar um Server gespäichert. D’Verschlësselung kann een herno nach uschalten, mee ni méi aus.",
  "rooms.group.encryptedForced":
    "Dëse Server verschlësselt all privat Gruppen: just d’Memberen kënnen d’Messagen liesen.",
  "rooms.group.nameMissing": "Gitt der Grupp en Numm.",
  "rooms.group.create": "Grupp uleeën",
  "rooms.group.creating": "Gëtt ugeluecht…",

  "rooms.header.settings": "Astellunge vum Raum",
  "rooms.header.invite": "Leit invitéieren",
  "rooms.header.leave": "Raum verloossen",
  "rooms.header.menu": "Optioune vum Raum",

  "rooms.invite.title": "Leit an {room} invitéieren",
  "rooms.invite.nobody": "Sicht mindestens eng Persoun eraus.",
  "rooms.invite.send": "Invitatioune schécken",
  "rooms.invite.sending": "Gëtt invitéiert…",

  "rooms.leave.title": "{room} verloossen?",
  "rooms.leave.warning":
    "Dir kritt seng Messagen net méi. Fir an e private Raum zréckzekommen, muss een Iech nees invitéieren.",
  "rooms.leave.confirm": "Verloossen",
  "rooms.leave.leaving": "Gëtt verlooss…",

  "rooms.settings.title": "Astellunge vun {room}",
  "rooms.settings.unavailable": "Dëse Raum ass op dësem Apparat net disponibel.",
  "rooms.settings.avatar": "Bild vum Raum",
  "rooms.settings.removeAvatar": "Bild ewechhuelen",
  "rooms.settings.uploading": "D’Bild gëtt eropgelueden…",
  "rooms.settings.avatarNotImage": "Sicht e Bild eraus (PNG, JPEG, GIF oder WebP).",
  "rooms.settings.name": "Numm vum Raum",
  "rooms.settings.topic": "Theema",
  "rooms.settings.save": "Späicheren",
  "rooms.settings.saving": "Gëtt gespäichert…",
  "rooms.settings.upToDate": "Gespäichert.",
  "rooms.settings.needPower": "Är Roll an dësem Raum erlaabt et net, dat z’änneren.",
  "rooms.settings.encryption": "Verschlësselung",
  "rooms.settings.encryptedOn":
    "D’Messagen hei sinn vun Enn zu Enn verschlësselt. D’Verschlësselung kann een net ausschalten.",
  "rooms.settings.encryptedOff": "D’Messagen hei sinn net verschlësselt.",
  "rooms.settings.encrypt": "Verschlësselung uschalten",
  "rooms.settings.encryptForGood":
    "Wann d’Verschlësselung eemol un ass, kann een se net méi ausschalten.",
  "rooms.settings.encryptWarning":
    "D’Verschlësselung bleift fir ëmmer un. Nei Memberen kënnen eeler Messagen net liesen, a Botten oder Brécke kéinten net méi funktionéieren.",
  "rooms.settings.encryptConfirm": "Fir ëmmer uschalten",

  "rooms.role.admin": "Admin",
  "rooms.role.moderator": "Moderator",
  "rooms.role.member": "Member",
  "rooms.role.creator": "Besëtzer",
  "rooms.role.custom": "Eege Stuf ({level})",

  "rooms.members.count.one": "{count} Member",
  "rooms.members.count.other": "{count} Memberen",
  "rooms.members.invite": "Invitéieren",
  "rooms.members.you": "Dir",
  "rooms.members.invited": "invitéiert",
  "rooms.members.banned": "gespaart",
  "rooms.members.yourRole": "Är Roll: {role}.",
  "rooms.members.powerNote":
    "Rolle kann änneren, wien et däerf – bei Leit ënner senger eegener Roll an héchstens bis zu där.",
  "rooms.members.roleOf": "Roll vum {name}",
  "rooms.members.remove": "Ewechhuelen",
  "rooms.members.removeLabel": "{name} ewechhuelen",
  "rooms.members.ban": "Spären",
  "rooms.members.banLabel": "{name} spären",
  "rooms.members.unban": "Entspären",
  "rooms.members.unbanLabel": "{name} entspären",
  "rooms.members.kickTitle": "{name} ewechhuelen?",
  "rooms.members.kickWarning":
    "{name} verléisst de Raum a kann nëmme mat enger neier Invitatioun zréckkommen.",
  "rooms.members.banTitle": "{name} spären?",
  "rooms.members.banWarning":
    "{name} verléisst de Raum a kann net zréckkommen, bis d’Spär opgehuewen ass.",
  "rooms.members.demoteTitle": "Är eege Roll erofsetzen?",
  "rooms.members.demoteWarning":
    "Dat kann een net réckgängeg maachen: Nëmmen een mat enger méi héijer Roll kann Iech se zréckginn.",
  "rooms.members.demote": "Meng Roll erofsetzen",

  "rooms.notifications.title": "Notifikatiounen",
  "rooms.notifications.toggle": "Desktop-Notifikatioune fir nei Messagen",
  "rooms.notifications.on":
    "Un: Nei Messagen weisen eng Notifikatioun, soulaang gemeng op ass, ausser am Gespréich, dat Dir grad kuckt.",
  "rooms.notifications.off": "Aus.",
  "rooms.notifications.asking": "Et gëtt op d’Erlaabnes vum Browser gewaart…",
  "rooms.notifications.denied":
    "De Browser blockéiert Notifikatioune fir dës Säit. Erlaabt se an den Astellunge vum Browser fir dës Säit, a kommt dann zréck.",
  "rooms.notifications.unsupported": "Dëse Browser kann keng Notifikatioune weisen.",
  "rooms.notifications.closed":
    "Si kommen och, wann gemeng zou ass, vum Server iwwer de Browser geschéckt.",

  "rooms.notify.text": "{sender}: {text}",
  "rooms.notify.image": "{sender} huet e Bild geschéckt",
  "rooms.notify.video": "{sender} huet e Video geschéckt",
  "rooms.notify.audio": "{sender} huet en Audiofichier geschéckt",
  "rooms.notify.voice": "{sender} huet eng Sproochmessage geschéckt",
  "rooms.notify.file": "{sender} huet e Fichier geschéckt",
  "rooms.notify.location": "{sender} huet e Standuert gedeelt",
  "rooms.notify.sticker": "{sender} huet e Sticker geschéckt",
  "rooms.notify.poll": "{sender} huet eng Ëmfro gestart",
  "rooms.notify.call": "{sender} rifft un",
  "rooms.notify.encrypted": "{sender} huet e verschlësselte Message geschéckt",
  "rooms.notify.other": "{sender} huet e Message geschéckt",
  "rooms.notify.new": "Nei Message",

  "rooms.preview.you": "Dir",
  "rooms.preview.from": "{sender}: {text}",
  "rooms.preview.emote": "* {sender} {text}",
  "rooms.preview.encrypted": "Verschlësselte Message",
  "rooms.preview.deleted": "Message geläscht",
  "rooms.preview.image": "Bild",
  "rooms.preview.video": "Videofichier",
  "rooms.preview.audio": "Audiofichier",
  "rooms.preview.voice": "Sproochmessage",
  "rooms.preview.file": "Fichier",
  "rooms.preview.location": "Standuert",
  "rooms.preview.poll": "Ëmfro",
  "rooms.preview.pollQuestion": "Ëmfro: {question}",
  "rooms.preview.call": "Uruff",
  "rooms.preview.other": "Net ënnerstëtzte Message",
};

/** Messages of creating rooms, room settings, notifications, in every language. */
export const roomsMessages: FeatureMessages<typeof en> = { en, fr, de, lb };
