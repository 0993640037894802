/**
 * Failure reports a person can act on: each failing request as a copy-pasteable curl command
 * and as one JSON line (bodies past 2 KiB go to files next to the report), grouped by root
 * cause in a Markdown summary.
 *
 * @module
 */

import { encodeBase64 } from "../../crypto/base64.ts";
import { type Failure, type SentRequest, signatureOf } from "./check.ts";

/** Quotes a string for a POSIX shell. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function isPrintable(bytes: Uint8Array): boolean {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // Control characters (other than tab and newline) would not survive a shell paste.
    return ![...text].some((ch) => ch < " " && ch !== "\t" && ch !== "\n");
  } catch {
    return false;
  }
}

/** Where a request's body lives in the report: inline, or a file written by {@link writeReport}. */
function bodyFile(outDir: string, request: SentRequest): string {
  return `${outDir}/body-${request.phase}-${request.index ?? Math.round(request.startedAt)}.bin`;
}

/** The request as a curl command (`--path-as-is` keeps `..` and raw escapes as sent). */
export function curlOf(baseUrl: string, request: SentRequest, outDir: string): string {
  const parts = [
    "curl",
    "-sS",
    "--path-as-is",
    "-X",
    request.method,
    shellQuote(baseUrl + request.target),
  ];
  for (const [name, value] of Object.entries(request.headers)) {
    parts.push("-H", shellQuote(`${name}: ${value}`));
  }
  if (request.body) {
    if (request.body.byteLength <= 2048 && isPrintable(request.body)) {
      parts.push("--data-binary", shellQuote(new TextDecoder().decode(request.body)));
    } else {
      parts.push("--data-binary", `@${bodyFile(outDir, request)}`);
    }
  }
  return parts.join(" ");
}

/** The request as one JSON line (body as text when it is short UTF-8, else base64). */
export function jsonLineOf(seed: number, failure: Failure): string {
  const r = failure.request;
  const body = r.body === null
    ? {}
    : r.body.byteLength <= 2048 && isPrintable(r.body)
    ? { body: new TextDecoder().decode(r.body) }
    : { body_base64_bytes: r.body.byteLength, body_base64: encodeBase64(r.body).slice(0, 4096) };
  return JSON.stringify({
    seed,
    index: r.index,
    phase: r.phase,
    kind: failure.kind,
    route: r.routeKey,
    method: r.method,
    target: r.target.length > 4096 ? `${r.target.slice(0, 4096)}…(${r.target.length})` : r.target,
    headers: r.headers,
    ...body,
    status: failure.status,
    errcode: failure.errcode,
    error: failure.error?.slice(0, 300) ?? null,
    notes: r.notes,
  });
}

/** Failures grouped by {@link signatureOf}, largest group first. */
export function groupFailures(failures: readonly Failure[]): [string, Failure[]][] {
  const groups = new Map<string, Failure[]>();
  for (const failure of failures) {
    const key = signatureOf(failure);
    groups.set(key, [...(groups.get(key) ?? []), failure]);
  }
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
}

function shortened(text: string, max = 600): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/** The Markdown summary of a run's failures, one section per root cause. */
export function markdownReport(
  options: { seed: number; baseUrl: string; outDir: string },
  failures: readonly Failure[],
): string {
  const lines: string[] = [];
  for (const [signature, group] of groupFailures(failures)) {
    const routes = [...new Set(group.map((f) => f.request.routeKey))];
    const example = group.slice(0, 3).find((f) => f.request.phase === "fuzz") ?? group[0];
    lines.push(`### ${signature}`, "");
    lines.push(
      `- ${group.length} request(s) on ${routes.length} route(s): ${
        routes.slice(0, 12).join(", ")
      }${routes.length > 12 ? ", …" : ""}`,
    );
    lines.push(
      `- example: ${example.kind} ${example.status ?? ""} ${example.errcode ?? ""} ${
        shortened(example.error ?? "", 300)
      }`,
    );
    if (example.request.notes.length) {
      lines.push(`- mutations: ${example.request.notes.join("; ")}`);
    }
    if (example.request.index !== null) {
      lines.push(
        `- rebuild: \`deno task fuzz --seed ${options.seed} --only ${example.request.index}\``,
      );
    }
    lines.push(
      "",
      "```sh",
      shortened(curlOf(options.baseUrl, example.request, options.outDir), 1500),
      "```",
    );
    if (example.stack) lines.push("", "```", shortened(example.stack, 2500), "```");
    lines.push("");
  }
  return lines.join("\n");
}

/** Writes failures.jsonl, findings.md and the large bodies into `outDir`. */
export async function writeReport(
  options: { seed: number; baseUrl: string; outDir: string },
  failures: readonly Failure[],
): Promise<void> {
  await Deno.mkdir(options.outDir, { recursive: true });
  // Bodies the curl commands of findings.md point at: a few per root cause.
  for (const [, group] of groupFailures(failures)) {
    for (const failure of group.slice(0, 3)) {
      const body = failure.request.body;
      if (body && (body.byteLength > 2048 || !isPrintable(body))) {
        await Deno.writeFile(bodyFile(options.outDir, failure.request), body);
      }
    }
  }
  await Deno.writeTextFile(
    `${options.outDir}/failures.jsonl`,
    failures.map((f) => jsonLineOf(options.seed, f)).join("\n") + (failures.length ? "\n" : ""),
  );
  await Deno.writeTextFile(`${options.outDir}/findings.md`, markdownReport(options, failures));
}
