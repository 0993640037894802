/**
 * A real SMTP server for tests: Debian's `python3-aiosmtpd` on a loopback port, with a small
 * handler that parses each received message (Python's `email` package) and writes it as JSON
 * into a directory, which the test reads. `.ci/run` installs the package; without it,
 * {@link smtpAvailable} is false and the tests are skipped with the reason.
 *
 * @module
 */

const PYTHON = "/usr/bin/python3";

const HANDLER = `
import email, email.policy, json, os, itertools

class JsonDir:
    counter = itertools.count()

    def __init__(self, directory):
        self.directory = directory

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "headers": {k: str(v) for k, v in msg.items()},
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
        }
        name = "%d-%d.json" % (os.getpid(), next(self.counter))
        tmp = os.path.join(self.directory, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"
`;

/** A received mail as the handler wrote it. */
export interface ReceivedMail {
  mail_from: string;
  rcpt_tos: string[];
  from: string;
  to: string;
  subject: string;
  headers: Record<string, string>;
  text: string;
  html: string;
}

/** Whether Debian's aiosmtpd can be run here. */
export async function smtpAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import aiosmtpd"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** A running SMTP server. */
export interface SmtpServer {
  port: number;
  /** Mails received so far, oldest first. */
  mails(): Promise<ReceivedMail[]>;
  /** Waits for a mail that matches (10 s at most by default). */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts aiosmtpd on a free loopback port; with `tls`, it offers STARTTLS with that certificate
 * and requires it before mail.
 */
export async function startSmtpServer(
  options: { tls?: { certFile: string; keyFile: string } } = {},
): Promise<SmtpServer> {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-smtp-" });
  const inbox = `${dir}/inbox`;
  await Deno.mkdir(inbox);
  await Deno.writeTextFile(`${dir}/gemeng_test_handler.py`, HANDLER);
  const port = freePort();
  const child = new Deno.Command(PYTHON, {
    args: [
      "-m",
      "aiosmtpd",
      "-n",
      "-l",
      `127.0.0.1:${port}`,
      ...(options.tls ? ["--tlscert", options.tls.certFile, "--tlskey", options.tls.keyFile] : []),
      "-c",
      "gemeng_test_handler.JsonDir",
      inbox,
    ],
    env: { PYTHONPATH: dir },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  const deadline = Date.now() + 15_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error("aiosmtpd did not start");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function mails(): Promise<ReceivedMail[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(inbox)) {
      if (entry.name.endsWith(".json")) names.push(entry.name);
    }
    const order = (name: string) => Number(name.split("-")[1].split(".")[0]);
    names.sort((a, b) => order(a) - order(b));
    return await Promise.all(
      names.map(async (name) => JSON.parse(await Deno.readTextFile(`${inbox}/${name}`))),
    );
  }

  return {
    port,
    mails,
    async waitFor(match, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (true) {
        const found = (await mails()).find(match);
        if (found) return found;
        if (Date.now() > end) throw new Error("no matching mail arrived");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await stderr.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}
