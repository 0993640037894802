/**
 * The words of gemeng's mails and of the pages their links open, in plain text and HTML. Every
 * value that comes from users (names, room names, messages) is escaped for HTML.
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { OutgoingMail } from "./mailer.ts";
import type { EmailPurpose } from "./threepid_store.ts";

/** Escapes text for HTML element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function htmlMail(title: string, paragraphs: string[]): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `</head><body style="font-family:sans-serif;max-width:36em;margin:auto;padding:1em">` +
    paragraphs.map((p) => `<p>${p}</p>`).join("") + `</body></html>`;
}

/** The mail with a validation link. */
export function validationMail(
  hs: Homeserver,
  what: { purpose: EmailPurpose; to: string; userId: string | null; link: string },
): OutgoingMail {
  const app = hs.config.email.appName;
  const hours = Math.round(hs.config.email.tokenLifetimeMs / 360_000) / 10;
  if (what.purpose === "password") {
    const subject = `[${app}] Reset your password`;
    const intro = `Someone asked to reset the password of the account ${what.userId} on ${app}.`;
    const action = "If it was you, open this link to continue:";
    const after = `The link works for ${hours} hours. If it was not you, ignore this mail: ` +
      "your password stays as it is.";
    return {
      to: what.to,
      subject,
      text: `${intro}\n\n${action}\n\n${what.link}\n\n${after}\n`,
      html: htmlMail(subject, [
        escapeHtml(intro),
        escapeHtml(action),
        `<a href="${escapeHtml(what.link)}">Reset my password</a>`,
        escapeHtml(after),
      ]),
    };
  }
  const subject = `[${app}] Confirm your email address`;
  const intro = `Someone asked to add this email address to an account on ${app}.`;
  const action = "If it was you, open this link to confirm it:";
  const after = `The link works for ${hours} hours. If it was not you, ignore this mail.`;
  return {
    to: what.to,
    subject,
    text: `${intro}\n\n${action}\n\n${what.link}\n\n${after}\n`,
    html: htmlMail(subject, [
      escapeHtml(intro),
      escapeHtml(action),
      `<a href="${escapeHtml(what.link)}">Confirm my email address</a>`,
      escapeHtml(after),
    ]),
  };
}

/** One room of a notification mail. */
export interface RoomSummary {
  roomName: string;
  count: number;
  encrypted: boolean;
  /** Sender and text of the newest messages (unencrypted rooms only). */
  lines: { sender: string; text: string }[];
}

/** The mail about unread messages. */
export function notificationMail(
  hs: Homeserver,
  what: { to: string; userId: string; rooms: RoomSummary[]; unsubscribe: string },
): OutgoingMail {
  const app = hs.config.email.appName;
  const total = what.rooms.reduce((sum, room) => sum + room.count, 0);
  const subject = `[${app}] ${total} unread message${total === 1 ? "" : "s"}`;
  const text: string[] = [`Hello ${what.userId},`, ""];
  const html: string[] = [escapeHtml(`Hello ${what.userId},`)];
  for (const room of what.rooms) {
    const line = `You have ${room.count} unread message${
      room.count === 1 ? "" : "s"
    } in ${room.roomName}.`;
    text.push(line);
    const items = room.lines.map((l) => `  ${l.sender}: ${l.text}`);
    text.push(...items, "");
    html.push(
      escapeHtml(line) +
        (room.lines.length
          ? "<br>" +
            room.lines.map((l) => `<b>${escapeHtml(l.sender)}</b>: ${escapeHtml(l.text)}`)
              .join("<br>")
          : ""),
    );
  }
  const open = `Open ${app} to read them: ${hs.config.http.publicBaseUrl}/`;
  const stop = "You get these mails because your address is on your account. To stop them:";
  text.push(open, "", stop, what.unsubscribe, "");
  html.push(
    `${escapeHtml(`Open ${app} to read them:`)} <a href="${
      escapeHtml(hs.config.http.publicBaseUrl)
    }/">${escapeHtml(hs.config.http.publicBaseUrl)}</a>`,
    `<small>${escapeHtml(stop)} <a href="${escapeHtml(what.unsubscribe)}">unsubscribe</a></small>`,
  );
  return {
    to: what.to,
    subject,
    text: text.join("\n"),
    html: htmlMail(subject, html),
    headers: {
      // RFC 8058: mail clients offer one-click unsubscribing (a POST to the link).
      "List-Unsubscribe": `<${what.unsubscribe}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
  };
}

/** A page the mail links open (validation, unsubscribing). */
export function htmlPage(
  title: string,
  body: string,
  status = 200,
): Response {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;` +
    `max-width:32em;margin:3em auto;padding:0 1em;line-height:1.5}button{font-size:1em;` +
    `padding:.5em 1.2em}</style></head><body><main><h1>${escapeHtml(title)}</h1>${body}` +
    `</main></body></html>`;
  return new Response(page, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      // The token is in the URL: it must not leak to other sites.
      "Referrer-Policy": "no-referrer",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      "X-Frame-Options": "DENY",
    },
  });
}
