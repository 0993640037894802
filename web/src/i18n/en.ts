/**
 * English messages: the reference catalogue. Every other catalogue has exactly these keys
 * (the {@link Catalogue} type checks it). `{name}` marks a value filled in at run time; keys
 * ending in `.one` / `.other` are plural forms chosen by `Intl.PluralRules`.
 *
 * @module
 */

import { timelineMessages } from "./timeline.ts";
import { roomsMessages } from "./rooms.ts";
import { joinMessages } from "./join.ts";
import { filesMessages } from "./files.ts";
import { pollsMessages } from "./polls.ts";
import { locationMessages } from "./location.ts";
import { callsMessages } from "./calls.ts";
import { securityMessages } from "./security.ts";

/** Messages of the app's shell (sign-in, room list, settings). */
const core = {
  "app.name": "gemeng",
  "app.tagline": "Chat for your commune, end-to-end encrypted",
  "app.loading": "Loading…",
  "app.skipToContent": "Skip to content",

  "auth.signIn.title": "Sign in",
  "auth.signIn.submit": "Sign in",
  "auth.signIn.noAccount": "New here?",
  "auth.signIn.toSignUp": "Create an account",
  "auth.signUp.title": "Create an account",
  "auth.signUp.submit": "Create account",
  "auth.signUp.haveAccount": "Already have an account?",
  "auth.signUp.toSignIn": "Sign in instead",
  "auth.signUp.checking": "Checking what this server needs…",
  "auth.server": "Server",
  "auth.serverHint": "Keep this address to use this server, or enter another Matrix server.",
  "auth.username": "Username",
  "auth.password": "Password",
  "auth.confirmPassword": "Confirm password",
  "auth.token": "Registration token",
  "auth.tokenHint": "This server asks for a registration token from its administrator.",
  "auth.busy": "Please wait…",

  "error.missingFields": "Please fill in every field.",
  "error.passwordMismatch": "The passwords do not match.",
  "error.badLogin": "Wrong username or password.",
  "error.userInUse": "This username is already taken.",
  "error.invalidUsername": "A username may contain only a–z, 0–9 and . _ = - /",
  "error.badToken": "This registration token is not valid.",
  "error.registrationClosed": "This server does not accept new accounts.",
  "error.unreachable": "Cannot reach a Matrix server at {url}.",
  "error.rateLimited": "Too many attempts. Please wait a moment and try again.",
  "error.unsupportedFlow": "This server asks for a sign-up step this app does not support yet.",
  "error.weakPassword": "This password is too weak.",
  "error.deactivated": "This account has been deactivated.",
  "error.unknown": "Something went wrong: {message}",

  "shell.rooms": "Conversations",
  "shell.roomList": "Conversation list",
  "shell.empty": "No conversations yet.",
  "shell.emptyHint": "Conversations you start or join will appear here.",
  "shell.selectRoom": "Select a conversation to read it.",
  "shell.roomPlaceholder": "Messages will appear here.",
  "shell.unnamedRoom": "Unnamed conversation",
  "shell.signedInAs": "Signed in as {userId}",
  "shell.signOut": "Sign out",
  "shell.signingOut": "Signing out…",
  "shell.settings": "Settings",
  "shell.back": "Back to conversations",
  "shell.unread.one": "{count} unread message",
  "shell.unread.other": "{count} unread messages",
  "shell.highlight.one": "{count} mention",
  "shell.highlight.other": "{count} mentions",

  "shell.search": "Search conversations",
  "shell.noMatch": "No conversation matches “{query}”.",
  "shell.invites": "Invitations",
  "shell.invitedBy": "Invited by {user}",
  "shell.accept": "Accept",
  "shell.decline": "Decline",
  "shell.acceptLabel": "Accept the invitation to {room}",
  "shell.declineLabel": "Decline the invitation to {room}",
  "shell.actionFailed": "That did not work: {message}",
  "sync.connecting": "Connecting…",
  "sync.offline": "Offline: showing what this device has saved.",
  "sync.error": "The server is not answering yet; trying again…",

  "settings.title": "Settings",
  "settings.language": "Language",
  "settings.theme": "Theme",
  "settings.themeSystem": "Same as this device",
  "settings.themeLight": "Light",
  "settings.themeDark": "Dark",
  "settings.account": "Account",
  "settings.encryption": "Encryption",

  "theme.toDark": "Switch to the dark theme",
  "theme.toLight": "Switch to the light theme",

  "crypto.off": "Encryption is not running on this device.",
  "crypto.starting": "Setting up encryption on this device…",
  "crypto.ready": "End-to-end encryption is ready on this device.",
  "crypto.failed": "Encryption could not start on this device: {message}",
} as const;

/** The English catalogue. */
export const en = {
  ...core,
  ...timelineMessages.en,
  ...roomsMessages.en,
  ...joinMessages.en,
  ...filesMessages.en,
  ...pollsMessages.en,
  ...locationMessages.en,
  ...callsMessages.en,
  ...securityMessages.en,
} as const;

/** A message key. */
export type MessageKey = keyof typeof en;

/** A complete catalogue: one string per key. */
export type Catalogue = Readonly<Record<MessageKey, string>>;
