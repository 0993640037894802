/**
 * Debian's OpenLDAP server (`slapd`) for tests: a fresh directory in a temporary folder (a
 * slapd.conf with an mdb database, no debconf), listening on a free loopback port, started in
 * the foreground and stopped by `close()`. Tests skip when slapd is not installed.
 *
 * @module
 */

/** Where Debian installs the binaries. */
export const SLAPD_PATH = "/usr/sbin/slapd";
const LDAPADD_PATH = "/usr/bin/ldapadd";
const LDAPDELETE_PATH = "/usr/bin/ldapdelete";

/** Why LDAP tests are skipped, or null when slapd and ldap-utils are installed. */
export const SLAPD_SKIP_REASON: string | null = (() => {
  for (const path of [SLAPD_PATH, LDAPADD_PATH]) {
    try {
      if (Deno.statSync(path).isFile) continue;
    } catch {
      // missing
    }
    return `LDAP tests skipped: ${path} is missing (apt-get install -y slapd ldap-utils)`;
  }
  return null;
})();
if (SLAPD_SKIP_REASON) console.warn(SLAPD_SKIP_REASON);

/** The directory's suffix, admin DN and password. */
export const SUFFIX = "dc=commune,dc=lu";
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = "admin-secret";
/** Where the test people live. */
export const PEOPLE = `ou=people,${SUFFIX}`;

/** A running slapd. */
export interface Slapd {
  url: string;
  /** With `tls`: the `ldaps://` URL and the PEM file of the CA that signed slapd's certificate. */
  ldapsUrl?: string;
  caFile?: string;
  /** Adds a person (uid, cn, mail, userPassword) under {@link PEOPLE}. */
  addPerson(uid: string, options: { cn: string; password: string; mail?: string }): Promise<void>;
  /** Deletes a person. */
  deletePerson(uid: string): Promise<void>;
  close(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function run(command: string, args: string[], input?: string): Promise<void> {
  const child = new Deno.Command(command, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A test CA and a certificate for 127.0.0.1 that it signed, made with openssl. */
async function makeCertificates(dir: string): Promise<void> {
  const subj = (cn: string) => ["-subj", `/CN=${cn}`];
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-days",
    "2",
    ...subj("gemeng test CA"),
  ]);
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${dir}/server.key`,
    "-out",
    `${dir}/server.csr`,
    ...subj("127.0.0.1"),
  ]);
  await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName = IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    `${dir}/server.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-out",
    `${dir}/server.pem`,
    "-days",
    "2",
    "-extfile",
    `${dir}/san.ext`,
  ]);
}

/**
 * Starts slapd with the base entries (suffix, people); with `tls`, also an `ldaps://` listener
 * and StartTLS, with a certificate from a CA made for the test.
 */
export async function startSlapd(options: { tls?: boolean } = {}): Promise<Slapd> {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-slapd-" });
  await Deno.mkdir(`${dir}/db`);
  if (options.tls) await makeCertificates(dir);
  const schema = "/etc/ldap/schema";
  await Deno.writeTextFile(
    `${dir}/slapd.conf`,
    [
      `include ${schema}/core.schema`,
      `include ${schema}/cosine.schema`,
      `include ${schema}/inetorgperson.schema`,
      `include ${schema}/nis.schema`,
      `pidfile ${dir}/slapd.pid`,
      ...(options.tls
        ? [
          `TLSCACertificateFile ${dir}/ca.pem`,
          `TLSCertificateFile ${dir}/server.pem`,
          `TLSCertificateKeyFile ${dir}/server.key`,
        ]
        : []),
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      "database mdb",
      `suffix "${SUFFIX}"`,
      `rootdn "${ADMIN_DN}"`,
      `rootpw ${ADMIN_PASSWORD}`,
      `directory ${dir}/db`,
      "maxsize 10485760",
      "access to attrs=userPassword by anonymous auth by self write by * none",
      "access to * by * read",
      "",
    ].join("\n"),
  );
  const port = freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = options.tls ? `ldaps://127.0.0.1:${freePort()}` : undefined;
  const listeners = ldapsUrl ? `${url}/ ${ldapsUrl}/` : `${url}/`;
  const child = new Deno.Command(SLAPD_PATH, {
    args: ["-d", "0", "-h", listeners, "-f", `${dir}/slapd.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  let log = "";
  const logDone = (async () => {
    for await (const chunk of stderr) log += chunk;
  })();
  const admin = ["-x", "-H", url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD];
  let ready = false;
  for (let i = 0; i < 100 && !ready; i++) {
    try {
      await run(
        LDAPADD_PATH,
        admin,
        [
          `dn: ${SUFFIX}`,
          "objectClass: dcObject",
          "objectClass: organization",
          "o: Commune",
          "dc: commune",
          "",
          `dn: ${PEOPLE}`,
          "objectClass: organizationalUnit",
          "ou: people",
          "",
        ].join("\n"),
      );
      ready = true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (!ready) {
    child.kill("SIGTERM");
    await child.status;
    await logDone;
    throw new Error(`slapd did not start: ${log}`);
  }
  return {
    url,
    ldapsUrl,
    caFile: options.tls ? `${dir}/ca.pem` : undefined,
    async addPerson(uid, options) {
      await run(
        LDAPADD_PATH,
        admin,
        [
          `dn: uid=${uid},${PEOPLE}`,
          "objectClass: inetOrgPerson",
          `uid: ${uid}`,
          `cn: ${options.cn}`,
          `sn: ${options.cn.split(" ").at(-1)}`,
          ...(options.mail ? [`mail: ${options.mail}`] : []),
          `userPassword: ${options.password}`,
          "",
        ].join("\n"),
      );
    },
    async deletePerson(uid) {
      await run(LDAPDELETE_PATH, [...admin, `uid=${uid},${PEOPLE}`]);
    },
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await logDone;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
