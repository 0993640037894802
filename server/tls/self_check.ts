/**
 * The start-up self-check: what other servers will see when they look for this one. It
 * resolves `server_name` the way they do (`.well-known`, SRV, port 8448), connects to the
 * address found and fetches `/_matrix/key/v2/server` over TLS with the trust they have (the
 * system's roots, plus `trusted_ca`), then compares the answer with this server: its name, its
 * signing key, and the names on the certificate in use. Every finding is a line; the problems
 * that break federation are warnings.
 *
 * @module
 */

import { parseServerName } from "../../federation/identifiers.ts";
import type { Homeserver } from "../homeserver.ts";
import { formatIp, isAddressAllowed } from "../media/ip_ranges.ts";
import { resolveAddresses } from "../federation/transport.ts";
import { certificateCovers, type CertificateFacts, certificateFacts } from "./certificates.ts";

/** The self-check's findings. */
export interface SelfCheckReport {
  /** What was found, one fact a line. */
  lines: string[];
  /** What will break federation (also in `lines`, prefixed `warning:`). */
  warnings: string[];
}

/** Options of {@link selfCheck}. */
export interface SelfCheckOptions {
  /** Time for the whole check (default 10 s). */
  timeoutMs?: number;
}

async function certificateInUse(hs: Homeserver): Promise<CertificateFacts | null> {
  if (hs.https) return hs.https.certificates.facts();
  const federation = hs.config.federation;
  if (federation.tlsCert === "") return null;
  try {
    return certificateFacts(await Deno.readTextFile(federation.tlsCert));
  } catch {
    return null;
  }
}

function readMigrateReq(): string | null {
  try {
    return Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_migrate_req").trim();
  } catch {
    return null;
  }
}

/** Runs the self-check against the running server `hs` (its listeners must be up). */
export async function selfCheck(
  hs: Homeserver,
  options: SelfCheckOptions = {},
): Promise<SelfCheckReport> {
  const lines: string[] = [];
  const warnings: string[] = [];
  const say = (line: string) => lines.push(line);
  const warn = (line: string) => {
    warnings.push(line);
    lines.push(`warning: ${line}`);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const config = hs.config;
  say(`server_name ${config.serverName}; signing key ${hs.signingKey.keyId}`);
  const facts = await certificateInUse(hs);
  if (facts) {
    say(
      `certificate: ${facts.names.join(", ")} from ${facts.issuer}, valid until ` +
        `${new Date(facts.notAfter).toISOString()}`,
    );
    const days = (facts.notAfter - Date.now()) / 86_400_000;
    if (days < 7 && config.http.tls !== "acme") {
      warn(`the certificate expires in ${days.toFixed(1)} days`);
    }
  }
  if (config.http.tls !== "off" && readMigrateReq() === "0") {
    say(
      "note: net.ipv4.tcp_migrate_req is 0: a connection arriving just as a renewed " +
        "certificate is taken into use can be reset (sysctl -w net.ipv4.tcp_migrate_req=1)",
    );
  }
  if (!config.federation.enabled) {
    warn("federation is off: no other server can reach this one ([http] tls or [federation])");
    return { lines, warnings };
  }
  if (config.http.tls !== "off" && facts) {
    const host = new URL(config.http.publicBaseUrl).hostname;
    if (!certificateCovers(facts.names, host)) {
      warn(`the certificate does not name ${host}, the host of public_base_url`);
    }
  }
  if (!parseServerName(config.serverName)) {
    warn(`${config.serverName} is not a valid server name`);
    return { lines, warnings };
  }
  let resolved;
  try {
    resolved = await hs.federation.discovery.resolve(config.serverName);
  } catch (err) {
    warn(`${config.serverName} cannot be resolved: ${String((err as Error).message ?? err)}`);
    return { lines, warnings };
  }
  const target = resolved.targets[0];
  say(
    `others connect to ${target.host}:${target.port} (resolution step ${resolved.step}), ` +
      `expecting a certificate for ${resolved.tlsName}`,
  );
  if (target.port === 8448 && config.federation.tlsCert === "") {
    warn(
      `others fall back to port 8448 of ${target.host}, where this server does not listen: ` +
        `serve https://${config.serverName}/.well-known/matrix/server (this server does when ` +
        `it is on port 443 of that name), or set a [federation] listener`,
    );
  }
  if (facts && !certificateCovers(facts.names, resolved.tlsName)) {
    warn(`the certificate in use does not name ${resolved.tlsName}: others will refuse it`);
  }
  let addresses;
  try {
    addresses = await resolveAddresses(target.host, {
      allowPrivate: true,
      resolveDns: hs.federation.resolveDns,
    });
  } catch (err) {
    warn(`${target.host} does not resolve: ${String((err as Error).message ?? err)}`);
    return { lines, warnings };
  }
  say(`${target.host} resolves to ${addresses.map(formatIp).join(", ")}`);
  const unreachable = addresses.filter((address) => !isAddressAllowed(address, []));
  if (unreachable.length > 0 && !config.federation.allowPrivateAddresses) {
    warn(
      `${target.host} resolves to private or special-purpose addresses ` +
        `(${unreachable.map(formatIp).join(", ")}): servers on the internet cannot reach them`,
    );
  }
  try {
    const response = await hs.federation.transport.exchange(
      { address: addresses[0], port: target.port, tlsName: resolved.tlsName },
      {
        method: "GET",
        path: "/_matrix/key/v2/server",
        host: resolved.hostHeader,
        headers: { "User-Agent": "gemeng self-check", Accept: "application/json" },
      },
      {
        caCerts: hs.federation.trustedCaCerts,
        maxBytes: 65536,
        timeoutMs: Math.max(1, deadline - Date.now()),
      },
    );
    const body = JSON.parse(new TextDecoder().decode(response.body));
    if (response.status !== 200) {
      warn(`/_matrix/key/v2/server answered ${response.status} at ${target.host}:${target.port}`);
    } else if (body.server_name !== config.serverName) {
      warn(`${target.host}:${target.port} is another server: it calls itself ${body.server_name}`);
    } else if (!body.verify_keys?.[hs.signingKey.keyId]) {
      warn(`${target.host}:${target.port} does not publish key ${hs.signingKey.keyId}`);
    } else {
      say(`reached over TLS: ${body.server_name} publishes key ${hs.signingKey.keyId}`);
    }
  } catch (err) {
    warn(
      `cannot fetch https://${resolved.hostHeader}/_matrix/key/v2/server as other servers ` +
        `would: ${String((err as Error).message ?? err)}`,
    );
  }
  return { lines, warnings };
}
