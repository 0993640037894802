/**
 * Messages of the secure-messaging prompt after signing in (set up, or verify a new device),
 * the details behind a message's mark, and the warning setting. Like account.ts's, they are not
 * merged into the catalogues: they load with their chunk, which keeps them out of the
 * JavaScript the first screen needs. {@link secureText} looks them up the way `I18n.t` does.
 *
 * @module
 */

import { elideFrench } from "./format.ts";
import { format, type Locale, type MessageParams } from "./index.ts";

const en = {
  "secure.setUpTitle": "Keep your messages safe",
  "secure.setUpIntro":
    "Your conversations are encrypted: only you and the people you write with can read them. Set up secure messaging once, so that you can still read them on a new phone or computer, and so that others can check it is really you.",
  "secure.setUpKey":
    "You get a recovery key. Keep it somewhere safe, like a password: it unlocks your messages if you lose your devices.",
  "secure.notNow": "Not now",
  "secure.done": "Secure messaging is set up. Keep your recovery key safe.",
  "secure.verifyTitle": "Verify this device",
  "secure.verifyIntro":
    "Your account already uses secure messaging. Confirm that this device is yours to read your earlier messages here: with a device where you are already signed in, or with your recovery key.",
  "secure.lostKey": "Lost your recovery key and every other device?",
  "secure.resetInSettings": "Reset it in Settings",
  "secure.reminderSetUp": "Secure messaging is not set up yet.",
  "secure.reminderSetUpAction": "Set up",
  "secure.unsavedTitle": "Save your recovery key",
  "secure.unsavedText":
    "A recovery key was made for you, but you did not confirm that you saved it, and it cannot be shown again. Make a new one and keep it safe.",
  "secure.newKey": "Make a new recovery key",
  "secure.reminderVerify":
    "This device is not verified yet, so your earlier encrypted messages stay locked here.",
  "secure.downloadKey": "Download",
  "secure.keyWhere":
    "Save it in a password manager, print it or download it. Never send it to anyone: whoever has it can read your messages.",
  "secure.shield.otherDevice":
    "{user} sent this from a device they have not verified. It may be a new phone or computer of theirs, or someone else's. Ask them to verify it.",
  "secure.shield.ownDevice":
    "You sent this from one of your devices that is not verified. If it is yours, verify it; if you do not know it, sign it out in Settings.",
  "secure.shield.device": "Device: {device}",
  "secure.shield.unverifiedSender":
    "You have not verified {user}, so nothing proves that this message comes from them. Verify them by comparing emoji, best in person or during a call.",
  "secure.shield.stopWarning": "Stop warning about unverified people",
  "secure.shield.identityChanged":
    "{user}’s identity changed after you verified them: they may have reset secure messaging, or someone else may write in their name. Check with them, then verify them again.",
  "secure.shield.waitingForKey":
    "This message cannot be read here yet. Earlier messages unlock when you verify this device or enter your recovery key; newer ones when the sender’s device sends the key.",
  "secure.shield.authenticity":
    "This message was unlocked with a key from your key backup or from another device, so this device cannot confirm who sent it. That is normal for older messages.",
  "secure.shield.notEncrypted":
    "This message was sent without encryption in an encrypted conversation, so the server could read it.",
  "secure.shield.mismatchedSender":
    "This message was encrypted by a device that does not belong to the person shown as its sender. Do not trust it.",
  "secure.shield.problem":
    "Something is wrong with this message’s encryption. Do not trust it before you have checked with the sender.",
  "secure.shield.verifyUser": "Verify {user}",
  "secure.shield.verifyUserAgain": "Verify {user} again",
  "secure.shield.verifyDevice": "Verify that device",
  "secure.shield.openSettings": "Open Settings",
  "secure.warnLabel": "Warn me about messages from people I have not verified",
  "secure.warnHint":
    "When this is off, only messages from unverified devices of verified people, and from people whose identity changed, are marked.",
} as const;

/** A key of these messages. */
export type SecureKey = keyof typeof en;

const fr: Readonly<Record<SecureKey, string>> = {
  "secure.setUpTitle": "Protégez vos messages",
  "secure.setUpIntro":
    "Vos conversations sont chiffrées : seuls vous et vos correspondants pouvez les lire. Configurez la messagerie sécurisée une fois pour pouvoir les lire aussi sur un nouveau téléphone ou ordinateur, et pour que les autres puissent vérifier que c’est bien vous.",
  "secure.setUpKey":
    "Vous recevez une clé de récupération. Gardez-la en lieu sûr, comme un mot de passe : elle déverrouille vos messages si vous perdez vos appareils.",
  "secure.notNow": "Plus tard",
  "secure.done":
    "La messagerie sécurisée est configurée. Gardez votre clé de récupération en lieu sûr.",
  "secure.verifyTitle": "Vérifier cet appareil",
  "secure.verifyIntro":
    "Votre compte utilise déjà la messagerie sécurisée. Confirmez que cet appareil est le vôtre pour y lire vos anciens messages : avec un appareil où vous êtes déjà connecté, ou avec votre clé de récupération.",
  "secure.lostKey": "Vous avez perdu votre clé de récupération et tous vos autres appareils ?",
  "secure.resetInSettings": "Réinitialisez-la dans les paramètres",
  "secure.reminderSetUp": "La messagerie sécurisée n’est pas encore configurée.",
  "secure.reminderSetUpAction": "Configurer",
  "secure.unsavedTitle": "Enregistrez votre clé de récupération",
  "secure.unsavedText":
    "Une clé de récupération a été créée pour vous, mais vous n’avez pas confirmé l’avoir enregistrée, et elle ne peut plus être affichée. Créez-en une nouvelle et gardez-la en lieu sûr.",
  "secure.newKey": "Créer une nouvelle clé de récupération",
  "secure.reminderVerify":
    "Cet appareil n’est pas encore vérifié : vos anciens messages chiffrés y restent verrouillés.",
  "secure.downloadKey": "Télécharger",
  "secure.keyWhere":
    "Enregistrez-la dans un gestionnaire de mots de passe, imprimez-la ou téléchargez-la. Ne l’envoyez jamais à personne : qui la possède peut lire vos messages.",
  "secure.shield.otherDevice":
    "{user} a envoyé ceci depuis un appareil non vérifié. Il peut s’agir de son nouveau téléphone ou ordinateur, ou de celui de quelqu’un d’autre. Demandez-lui de le vérifier.",
  "secure.shield.ownDevice":
    "Vous avez envoyé ceci depuis un de vos appareils qui n’est pas vérifié. S’il est à vous, vérifiez-le ; si vous ne le connaissez pas, déconnectez-le dans les paramètres.",
  "secure.shield.device": "Appareil : {device}",
  "secure.shield.unverifiedSender":
    "Vous n’avez pas vérifié {user} : rien ne prouve que ce message vient de cette personne. Vérifiez-la en comparant des emoji, de préférence en personne ou pendant un appel.",
  "secure.shield.stopWarning": "Ne plus avertir pour les personnes non vérifiées",
  "secure.shield.identityChanged":
    "L’identité de {user} a changé depuis que vous l’avez vérifiée : sa messagerie sécurisée a peut-être été réinitialisée, ou quelqu’un d’autre écrit en son nom. Vérifiez auprès d’elle, puis vérifiez-la de nouveau.",
  "secure.shield.waitingForKey":
    "Ce message ne peut pas encore être lu ici. Les anciens messages se déverrouillent quand vous vérifiez cet appareil ou saisissez votre clé de récupération ; les plus récents, quand l’appareil de l’expéditeur envoie la clé.",
  "secure.shield.authenticity":
    "Ce message a été déverrouillé avec une clé de votre sauvegarde ou d’un autre appareil : cet appareil ne peut pas confirmer qui l’a envoyé. C’est normal pour les anciens messages.",
  "secure.shield.notEncrypted":
    "Ce message a été envoyé sans chiffrement dans une conversation chiffrée : le serveur pouvait le lire.",
  "secure.shield.mismatchedSender":
    "Ce message a été chiffré par un appareil qui n’appartient pas à la personne indiquée comme expéditeur. Ne vous y fiez pas.",
  "secure.shield.problem":
    "Le chiffrement de ce message pose problème. Ne vous y fiez pas avant d’avoir vérifié auprès de l’expéditeur.",
  "secure.shield.verifyUser": "Vérifier {user}",
  "secure.shield.verifyUserAgain": "Vérifier {user} de nouveau",
  "secure.shield.verifyDevice": "Vérifier cet appareil-là",
  "secure.shield.openSettings": "Ouvrir les paramètres",
  "secure.warnLabel": "M’avertir des messages de personnes que je n’ai pas vérifiées",
  "secure.warnHint":
    "Désactivé, seuls les messages d’appareils non vérifiés de personnes vérifiées, et de personnes dont l’identité a changé, sont signalés.",
};

const de: Readonly<Record<SecureKey, string>> = {
  "secure.setUpTitle": "Schützen Sie Ihre Nachrichten",
  "secure.setUpIntro":
    "Ihre Unterhaltungen sind verschlüsselt: Nur Sie und Ihre Gesprächspartner können sie lesen. Richten Sie die sichere Kommunikation einmal ein, damit Sie sie auch auf einem neuen Telefon oder Computer lesen können und andere prüfen können, dass Sie es wirklich sind.",
  "secure.setUpKey":
    "Sie erhalten einen Wiederherstellungsschlüssel. Bewahren Sie ihn sicher auf wie ein Passwort: Er entsperrt Ihre Nachrichten, wenn Sie Ihre Geräte verlieren.",
  "secure.notNow": "Später",
  "secure.done":
    "Die sichere Kommunikation ist eingerichtet. Bewahren Sie Ihren Wiederherstellungsschlüssel sicher auf.",
  "secure.verifyTitle": "Dieses Gerät verifizieren",
  "secure.verifyIntro":
    "Ihr Konto nutzt bereits die sichere Kommunikation. Bestätigen Sie, dass dieses Gerät Ihnen gehört, um hier Ihre früheren Nachrichten zu lesen: mit einem Gerät, auf dem Sie bereits angemeldet sind, oder mit Ihrem Wiederherstellungsschlüssel.",
  "secure.lostKey": "Wiederherstellungsschlüssel und alle anderen Geräte verloren?",
  "secure.resetInSettings": "In den Einstellungen zurücksetzen",
  "secure.reminderSetUp": "Die sichere Kommunikation ist noch nicht eingerichtet.",
  "secure.reminderSetUpAction": "Einrichten",
  "secure.unsavedTitle": "Speichern Sie Ihren Wiederherstellungsschlüssel",
  "secure.unsavedText":
    "Für Sie wurde ein Wiederherstellungsschlüssel erstellt, aber Sie haben nicht bestätigt, dass Sie ihn gespeichert haben, und er kann nicht mehr angezeigt werden. Erstellen Sie einen neuen und bewahren Sie ihn sicher auf.",
  "secure.newKey": "Neuen Wiederherstellungsschlüssel erstellen",
  "secure.reminderVerify":
    "Dieses Gerät ist noch nicht verifiziert, daher bleiben Ihre früheren verschlüsselten Nachrichten hier gesperrt.",
  "secure.downloadKey": "Herunterladen",
  "secure.keyWhere":
    "Speichern Sie ihn in einem Passwort-Manager, drucken Sie ihn aus oder laden Sie ihn herunter. Senden Sie ihn niemandem: Wer ihn hat, kann Ihre Nachrichten lesen.",
  "secure.shield.otherDevice":
    "{user} hat dies von einem Gerät gesendet, das nicht verifiziert ist. Es kann ein neues Telefon oder ein neuer Computer dieser Person sein – oder das Gerät von jemand anderem. Bitten Sie die Person, es zu verifizieren.",
  "secure.shield.ownDevice":
    "Sie haben dies von einem Ihrer Geräte gesendet, das nicht verifiziert ist. Wenn es Ihres ist, verifizieren Sie es; wenn Sie es nicht kennen, melden Sie es in den Einstellungen ab.",
  "secure.shield.device": "Gerät: {device}",
  "secure.shield.unverifiedSender":
    "Sie haben {user} nicht verifiziert, daher belegt nichts, dass diese Nachricht von dieser Person stammt. Verifizieren Sie sie durch den Vergleich von Emojis, am besten persönlich oder während eines Anrufs.",
  "secure.shield.stopWarning": "Nicht mehr vor nicht verifizierten Personen warnen",
  "secure.shield.identityChanged":
    "Die Identität von {user} hat sich geändert, seit Sie die Person verifiziert haben: Vielleicht hat sie ihre sichere Kommunikation zurückgesetzt, oder jemand anderes schreibt in ihrem Namen. Fragen Sie nach und verifizieren Sie sie dann erneut.",
  "secure.shield.waitingForKey":
    "Diese Nachricht kann hier noch nicht gelesen werden. Ältere Nachrichten werden entsperrt, wenn Sie dieses Gerät verifizieren oder Ihren Wiederherstellungsschlüssel eingeben; neuere, sobald das Gerät des Absenders den Schlüssel sendet.",
  "secure.shield.authenticity":
    "Diese Nachricht wurde mit einem Schlüssel aus Ihrer Schlüsselsicherung oder von einem anderen Gerät entsperrt, daher kann dieses Gerät den Absender nicht bestätigen. Bei älteren Nachrichten ist das normal.",
  "secure.shield.notEncrypted":
    "Diese Nachricht wurde in einer verschlüsselten Unterhaltung unverschlüsselt gesendet; der Server konnte sie lesen.",
  "secure.shield.mismatchedSender":
    "Diese Nachricht wurde von einem Gerät verschlüsselt, das nicht der als Absender angezeigten Person gehört. Vertrauen Sie ihr nicht.",
  "secure.shield.problem":
    "Mit der Verschlüsselung dieser Nachricht stimmt etwas nicht. Vertrauen Sie ihr erst, wenn Sie beim Absender nachgefragt haben.",
  "secure.shield.verifyUser": "{user} verifizieren",
  "secure.shield.verifyUserAgain": "{user} erneut verifizieren",
  "secure.shield.verifyDevice": "Jenes Gerät verifizieren",
  "secure.shield.openSettings": "Einstellungen öffnen",
  "secure.warnLabel": "Vor Nachrichten von Personen warnen, die ich nicht verifiziert habe",
  "secure.warnHint":
    "Ist dies aus, werden nur Nachrichten von nicht verifizierten Geräten verifizierter Personen und von Personen mit geänderter Identität markiert.",
};

const lb: Readonly<Record<SecureKey, string>> = {
  "secure.setUpTitle": "Schützt Är Messagen",
  "secure.setUpIntro":
    "Är Gespréicher si verschlësselt: nëmmen Dir an d’Leit, deenen Dir schreift, kënnen se liesen. Riicht d’sécher Messagen eng Kéier an, fir se och op engem neien Telefon oder Computer ze liesen, an domat anerer kënnen iwwerpréiwen, datt Dir et wierklech sidd.",
  "secure.setUpKey":
    "Dir kritt e Recuperatiounsschlëssel. Haalt en op enger sécherer Plaz, wéi e Passwuert: e mécht Är Messagen op, wann Dir Är Apparater verléiert.",
  "secure.notNow": "Net elo",
  "secure.done": "Sécher Messagen sinn ageriicht. Haalt Äre Recuperatiounsschlëssel sécher.",
  "secure.verifyTitle": "Dësen Apparat verifizéieren",
  "secure.verifyIntro":
    "Äre Kont notzt schonn d’sécher Messagen. Confirméiert, datt dësen Apparat Ären ass, fir hei Är fréier Messagen ze liesen: mat engem Apparat, op deem Dir schonn ugemellt sidd, oder mat Ärem Recuperatiounsschlëssel.",
  "secure.lostKey": "Recuperatiounsschlëssel an all aner Apparater verluer?",
  "secure.resetInSettings": "An den Astellungen zrécksetzen",
  "secure.reminderSetUp": "Sécher Messagen sinn nach net ageriicht.",
  "secure.reminderSetUpAction": "Ariichten",
  "secure.unsavedTitle": "Späichert Äre Recuperatiounsschlëssel",
  "secure.unsavedText":
    "Fir Iech gouf e Recuperatiounsschlëssel gemaach, mä Dir hutt net confirméiert, datt Dir e gespäichert hutt, an e kann net méi gewise ginn. Maacht en neien a haalt e sécher.",
  "secure.newKey": "En neie Recuperatiounsschlëssel maachen",
  "secure.reminderVerify":
    "Dësen Apparat ass nach net verifizéiert, dofir bleiwen Är fréier verschlësselt Messagen hei gespaart.",
  "secure.downloadKey": "Eroflueden",
  "secure.keyWhere":
    "Späichert en an engem Passwuert-Manager, dréckt en aus oder luedt en erof. Schéckt en ni engem: wien en huet, ka Är Messagen liesen.",
  "secure.shield.otherDevice":
    "{user} huet dat vun engem Apparat geschéckt, deen net verifizéiert ass. Et kann en neien Telefon oder Computer vun där Persoun sinn, oder deen vun engem aneren. Frot se, fir en ze verifizéieren.",
  "secure.shield.ownDevice":
    "Dir hutt dat vun engem vun Ären Apparater geschéckt, deen net verifizéiert ass. Wann en Ären ass, verifizéiert en; wann Dir en net kennt, mellt en an den Astellungen of.",
  "secure.shield.device": "Apparat: {device}",
  "secure.shield.unverifiedSender":
    "Dir hutt {user} net verifizéiert, dofir beweist näischt, datt dës Message vun där Persoun kënnt. Verifizéiert se, andeems Dir Emojien vergläicht, am beschten perséinlech oder während engem Uruff.",
  "secure.shield.stopWarning": "Net méi viru net verifizéierte Leit warnen",
  "secure.shield.identityChanged":
    "D’Identitéit vum {user} huet geännert, zënter Dir d’Persoun verifizéiert hutt: vläicht huet se hir sécher Messagen zréckgesat, oder een anere schreift an hirem Numm. Frot no, a verifizéiert se dann nach eng Kéier.",
  "secure.shield.waitingForKey":
    "Dës Message kann hei nach net gelies ginn. Eeler Messagen ginn opgemaach, wann Dir dësen Apparat verifizéiert oder Äre Recuperatiounsschlëssel agitt; méi nei, soubal den Apparat vum Absender de Schlëssel schéckt.",
  "secure.shield.authenticity":
    "Dës Message gouf mat engem Schlëssel aus Ärer Sécherung oder vun engem aneren Apparat opgemaach, dofir kann dësen Apparat net confirméieren, wien se geschéckt huet. Bei eelere Messagen ass dat normal.",
  "secure.shield.notEncrypted":
    "Dës Message gouf an engem verschlësselte Gespréich ouni Verschlësselung geschéckt: de Server konnt se liesen.",
  "secure.shield.mismatchedSender":
    "Dës Message gouf vun engem Apparat verschlësselt, deen net der Persoun gehéiert, déi als Absender ugewise gëtt. Vertraut hir net.",
  "secure.shield.problem":
    "Mat der Verschlësselung vun dëser Message stëmmt eppes net. Vertraut hir eréischt, wann Dir beim Absender nogefrot hutt.",
  "secure.shield.verifyUser": "{user} verifizéieren",
  "secure.shield.verifyUserAgain": "{user} nach eng Kéier verifizéieren",
  "secure.shield.verifyDevice": "Deen Apparat verifizéieren",
  "secure.shield.openSettings": "Astellungen opmaachen",
  "secure.warnLabel": "Mech viru Messagen vu Leit warnen, déi ech net verifizéiert hunn",
  "secure.warnHint":
    "Ass dat aus, ginn nëmmen Messagen vun net verifizéierten Apparater vu verifizéierte Leit, a vu Leit, där hir Identitéit geännert huet, markéiert.",
};

/** The messages in each language. */
export const secureMessages: Readonly<Record<Locale, Readonly<Record<SecureKey, string>>>> = {
  en,
  fr,
  de,
  lb,
};

/** The message for `key` in `locale`, placeholders filled (French elisions as in `I18n.t`). */
export function secureText(locale: Locale, key: SecureKey, params?: MessageParams): string {
  const template = secureMessages[locale][key];
  return format(locale === "fr" && params ? elideFrench(template, params) : template, params);
}
