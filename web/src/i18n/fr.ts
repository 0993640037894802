/**
 * French messages.
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
  "app.tagline": "La messagerie de votre commune, chiffrée de bout en bout",
  "app.loading": "Chargement…",
  "app.skipToContent": "Aller au contenu",

  "auth.signIn.title": "Se connecter",
  "auth.signIn.submit": "Se connecter",
  "auth.signIn.noAccount": "Nouveau ici ?",
  "auth.signIn.toSignUp": "Créer un compte",
  "auth.signUp.title": "Créer un compte",
  "auth.signUp.submit": "Créer le compte",
  "auth.signUp.haveAccount": "Vous avez déjà un compte ?",
  "auth.signUp.toSignIn": "Se connecter plutôt",
  "auth.signUp.checking": "Vérification des exigences du serveur…",
  "auth.server": "Serveur",
  "auth.serverHint":
    "Gardez cette adresse pour utiliser ce serveur, ou saisissez un autre serveur Matrix.",
  "auth.username": "Nom d’utilisateur",
  "auth.password": "Mot de passe",
  "auth.confirmPassword": "Confirmer le mot de passe",
  "auth.token": "Jeton d’inscription",
  "auth.tokenHint": "Ce serveur demande un jeton d’inscription fourni par son administrateur.",
  "auth.busy": "Veuillez patienter…",

  "error.missingFields": "Veuillez remplir tous les champs.",
  "error.passwordMismatch": "Les mots de passe ne correspondent pas.",
  "error.badLogin": "Nom d’utilisateur ou mot de passe incorrect.",
  "error.userInUse": "Ce nom d’utilisateur est déjà pris.",
  "error.invalidUsername": "Un nom d’utilisateur ne peut contenir que a–z, 0–9 et . _ = - /",
  "error.badToken": "Ce jeton d’inscription n’est pas valable.",
  "error.registrationClosed": "Ce serveur n’accepte pas de nouveaux comptes.",
  "error.unreachable": "Impossible de joindre un serveur Matrix à l’adresse {url}.",
  "error.rateLimited": "Trop de tentatives. Attendez un instant puis réessayez.",
  "error.unsupportedFlow":
    "Ce serveur demande une étape d’inscription que l’application ne gère pas encore.",
  "error.weakPassword": "Ce mot de passe est trop faible.",
  "error.deactivated": "Ce compte a été désactivé.",
  "error.unknown": "Une erreur s’est produite : {message}",

  "shell.rooms": "Conversations",
  "shell.roomList": "Liste des conversations",
  "shell.empty": "Aucune conversation pour l’instant.",
  "shell.emptyHint": "Les conversations que vous démarrez ou rejoignez apparaîtront ici.",
  "shell.selectRoom": "Choisissez une conversation pour la lire.",
  "shell.roomPlaceholder": "Les messages apparaîtront ici.",
  "shell.unnamedRoom": "Conversation sans nom",
  "shell.signedInAs": "Connecté en tant que {userId}",
  "shell.signOut": "Se déconnecter",
  "shell.signingOut": "Déconnexion…",
  "shell.settings": "Paramètres",
  "shell.back": "Retour aux conversations",
  "shell.unread.one": "{count} message non lu",
  "shell.unread.other": "{count} messages non lus",
  "shell.highlight.one": "{count} mention",
  "shell.highlight.other": "{count} mentions",

  "shell.search": "Rechercher une conversation",
  "shell.noMatch": "Aucune conversation ne correspond à « {query} ».",
  "shell.invites": "Invitations",
  "shell.invitedBy": "Invitation de {user}",
  "shell.accept": "Accepter",
  "shell.decline": "Refuser",
  "shell.acceptLabel": "Accepter l’invitation à {room}",
  "shell.declineLabel": "Refuser l’invitation à {room}",
  "shell.actionFailed": "Cela n’a pas fonctionné : {message}",
  "sync.connecting": "Connexion…",
  "sync.offline": "Hors ligne : affichage de ce que cet appareil a enregistré.",
  "sync.error": "Le serveur ne répond pas encore ; nouvelle tentative…",

  "settings.title": "Paramètres",
  "settings.language": "Langue",
  "settings.theme": "Thème",
  "settings.themeSystem": "Comme cet appareil",
  "settings.themeLight": "Clair",
  "settings.themeDark": "Sombre",
  "settings.account": "Compte",
  "settings.encryption": "Chiffrement",

  "theme.toDark": "Passer au thème sombre",
  "theme.toLight": "Passer au thème clair",

  "crypto.off": "Le chiffrement ne fonctionne pas sur cet appareil.",
  "crypto.starting": "Mise en place du chiffrement sur cet appareil…",
  "crypto.ready": "Le chiffrement de bout en bout est prêt sur cet appareil.",
  "crypto.failed": "Le chiffrement n’a pas pu démarrer sur cet appareil : {message}",
};

/** The French catalogue. */
export const fr: Catalogue = {
  ...core,
  ...timelineMessages.fr,
  ...roomsMessages.fr,
  ...joinMessages.fr,
  ...filesMessages.fr,
  ...pollsMessages.fr,
  ...locationMessages.fr,
  ...callsMessages.fr,
  ...securityMessages.fr,
};
