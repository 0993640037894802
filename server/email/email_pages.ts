/**
 * The pages that links in mails open, served by gemeng itself (no identity server):
 *
 * - `GET /_gemeng/email/validate?sid=&token=` shows what confirming does (reset the password of
 *   an account, or add the address to an account) with a button; the button's `POST` marks the
 *   session validated. Nothing happens on the `GET`: mail scanners that fetch every link must
 *   not confirm for the reader, and a person who did not ask for a reset reads the warning
 *   before anything happens.
 * - `GET /_gemeng/email/unsubscribe?...` shows a button; its `POST` (also RFC 8058's one-click
 *   `POST` from mail clients) removes the email pusher (server/email/email_notifs.ts).
 *
 * @module
 */

import { Hono } from "hono";
import { constantTimeEqual } from "../../crypto/tokens.ts";
import type { Homeserver } from "../homeserver.ts";
import { invalidParam } from "../errors.ts";
import { readBodyBytes } from "../http_util.ts";
import type { AppEnv } from "../request_context.ts";
import { secretHash } from "../store/kv_store.ts";
import { escapeHtml, htmlPage } from "./mail_texts.ts";
import { unsubscribe, verifyUnsubscribe } from "./email_notifs.ts";
import { type EmailSession, threepidKeys } from "./threepid_store.ts";

const MAX_FORM_BYTES = 4096;

/** The query string of a GET, or the form fields of a POST (size-limited). */
async function fieldsOf(request: Request): Promise<URLSearchParams> {
  const query = new URL(request.url).searchParams;
  if (request.method !== "POST") return query;
  try {
    const bytes = await readBodyBytes(request, { maxBytes: MAX_FORM_BYTES });
    const form = new URLSearchParams(new TextDecoder().decode(bytes));
    // Fields missing from the form (a one-click POST has only `List-Unsubscribe`) come from
    // the query string.
    for (const [name, value] of query) if (!form.has(name)) form.set(name, value);
    return form;
  } catch {
    return query;
  }
}

/**
 * The answer to a link that does not work: a page for a browser, and the API's error body for
 * anything else (a client or script calling the URL gets an `errcode` like everywhere else).
 */
function invalidLink(request: Request): Response {
  if (!(request.headers.get("accept") ?? "").includes("text/html")) {
    return invalidParam("The link is not valid, was already used, or has expired").toResponse();
  }
  return htmlPage(
    "This link does not work",
    "<p>The link is not valid, was already used, or has expired. Ask your app to send a new " +
      "mail.</p>",
    400,
  );
}

async function sessionFor(
  hs: Homeserver,
  fields: URLSearchParams,
): Promise<Deno.KvEntry<EmailSession> | null> {
  const sid = fields.get("sid") ?? "";
  const token = fields.get("token") ?? "";
  if (sid === "" || sid.length > 255 || token === "" || token.length > 255) return null;
  const entry = await hs.kv.get<EmailSession>(threepidKeys.session(sid));
  const session = entry.value;
  if (!session || session.expiresTs <= Date.now()) return null;
  if (!constantTimeEqual(secretHash(token), session.tokenHash)) return null;
  return entry as Deno.KvEntry<EmailSession>;
}

function hiddenFields(fields: URLSearchParams, ...names: string[]): string {
  return names.map((name) =>
    `<input type="hidden" name="${name}" value="${escapeHtml(fields.get(name) ?? "")}">`
  ).join("");
}

/** Routes of the pages mail links open. */
export function emailPageRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Without mail, no link leads here: the paths stay unknown (404 M_UNRECOGNIZED).
  if (!hs.config.email.enabled) return app;

  app.get("/_gemeng/email/validate", async (c) => {
    const fields = await fieldsOf(c.req.raw);
    const entry = await sessionFor(hs, fields);
    if (!entry) return invalidLink(c.req.raw);
    const session = entry.value;
    const what = session.purpose === "password"
      ? `<p>You are about to reset the password of <b>${
        escapeHtml(session.userId ?? "")
      }</b>. Continue only if you asked for it in your app; then go back to the app to choose ` +
        "the new password.</p>"
      : `<p>You are about to add <b>${
        escapeHtml(session.address)
      }</b> to an account. Continue only if you asked for it in your app.</p>`;
    return htmlPage(
      session.purpose === "password" ? "Reset your password" : "Confirm your email address",
      `${what}<form method="post">${
        hiddenFields(fields, "sid", "token")
      }<button type="submit">Confirm</button></form>`,
    );
  });

  app.post("/_gemeng/email/validate", async (c) => {
    const fields = await fieldsOf(c.req.raw);
    const entry = await sessionFor(hs, fields);
    if (!entry) return invalidLink(c.req.raw);
    const session = entry.value;
    if (session.validatedTs === null) {
      const updated: EmailSession = { ...session, validatedTs: Date.now() };
      const expireIn = Math.max(1, session.expiresTs - Date.now());
      const result = await hs.kv.atomic().check(entry).set(entry.key, updated, { expireIn })
        .commit();
      if (!result.ok) return invalidLink(c.req.raw);
    }
    const next = session.nextLink
      ? `<p><a href="${escapeHtml(session.nextLink)}">Continue</a></p>`
      : "";
    return htmlPage(
      "Email address confirmed",
      `<p>Thank you. Go back to your app and continue there${
        session.purpose === "password" ? " (choose your new password)" : ""
      }.</p>${next}`,
    );
  });

  app.get("/_gemeng/email/unsubscribe", async (c) => {
    const fields = await fieldsOf(c.req.raw);
    if (!(await verifyUnsubscribe(hs, fields))) return invalidLink(c.req.raw);
    return htmlPage(
      "Stop notification mails",
      `<p>Stop mails about unread messages to <b>${
        escapeHtml(fields.get("address") ?? "")
      }</b>?</p><form method="post">${
        hiddenFields(fields, "user", "address", "sig")
      }<button type="submit">Unsubscribe</button></form>`,
    );
  });

  app.post("/_gemeng/email/unsubscribe", async (c) => {
    const fields = await fieldsOf(c.req.raw);
    if (!(await verifyUnsubscribe(hs, fields))) return invalidLink(c.req.raw);
    await unsubscribe(hs, fields);
    return htmlPage(
      "Unsubscribed",
      "<p>You will get no more mails about unread messages. Your app's notification settings " +
        "can turn them on again.</p>",
    );
  });

  return app;
}
