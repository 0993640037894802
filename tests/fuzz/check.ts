/**
 * What counts as a failure, and how failures are grouped by root cause. A request fails on a
 * 5xx (except 502/504 carrying an errcode: the server saying honestly that an upstream, like a
 * previewed page, failed), a 4xx whose body is not JSON with an `errcode`, a JSON answer that
 * does not parse, no answer within the deadline, or a dropped connection.
 *
 * @module
 */

import { type RawResponse, TransportError } from "./http.ts";

/** A request as it went on the wire (the exact bytes a report must reproduce). */
export interface SentRequest {
  /** The request number for fuzz requests; null for setup and probe requests. */
  index: number | null;
  phase: "setup" | "probe" | "fuzz";
  routeKey: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
  notes: string[];
  startedAt: number;
  endedAt: number;
}

/** The kinds of failure. */
export type FailureKind = "5xx" | "no-errcode" | "bad-json" | "hung" | "transport" | "server-died";

/** One failing request. */
export interface Failure {
  kind: FailureKind;
  request: SentRequest;
  status: number | null;
  errcode: string | null;
  error: string | null;
  /** The server's "internal error:" report tied to this request, if any. */
  stack: string | null;
}

/**
 * Request heads larger than this may be refused by hyper before the app sees them (measured:
 * 64 KiB in all, a little less is safe to count as "may be refused").
 */
export const MAX_REQUEST_HEAD = 65_000;

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Checks one answer (or the error instead of one).
 *
 * @param maxBody the server's `max_request_body`: past it a reset connection is a fair refusal
 */
export function checkAnswer(
  request: SentRequest,
  answer: RawResponse | TransportError,
  maxBody: number,
): Failure | null {
  const base = { request, status: null, errcode: null, error: null, stack: null };
  // The HTTP layer (hyper) refuses a request head (request line and headers) of about 64 KiB,
  // with a bare 400 or a reset, and may drop a connection whose body is being refused: neither
  // reaches the app.
  const headBytes = request.method.length + request.target.length + 64 +
    Object.entries(request.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  const lineTooLong = headBytes > MAX_REQUEST_HEAD;
  const bodyTooLarge = (request.body?.byteLength ?? 0) > maxBody;
  if (answer instanceof TransportError) {
    if (answer.kind === "timeout") return { ...base, kind: "hung", error: answer.message };
    if (lineTooLong || bodyTooLarge) return null;
    return { ...base, kind: "transport", error: `${answer.kind}: ${answer.message}` };
  }
  const type = answer.headers.get("content-type") ?? "";
  const json = type.includes("json") ? parseJson(answer.body) : undefined;
  const errcode = typeof json === "object" && json !== null && "errcode" in json &&
      typeof json.errcode === "string"
    ? json.errcode
    : null;
  const error = typeof json === "object" && json !== null && "error" in json
    ? String(json.error)
    : answer.status >= 400 && !type.includes("json")
    ? new TextDecoder().decode(answer.body.subarray(0, 200))
    : null;
  const seen = { ...base, status: answer.status, errcode, error };
  if (answer.status >= 500) {
    if ((answer.status === 502 || answer.status === 504) && errcode !== null) return null;
    return { ...seen, kind: "5xx" };
  }
  if (lineTooLong && answer.status === 400 && !type.includes("json")) return null;
  // The first answer of user-interactive auth is a 401 with the flows and no errcode.
  const uia = answer.status === 401 && typeof json === "object" && json !== null && "flows" in json;
  if (answer.status >= 400 && errcode === null && !uia) return { ...seen, kind: "no-errcode" };
  if (type.includes("json") && json === undefined && answer.body.byteLength > 0) {
    return { ...seen, kind: "bad-json" };
  }
  return null;
}

/** The first stack frame in the project's own code, as `dir/file.ts:line`. */
export function topFrame(stack: string | null): string | null {
  if (!stack) return null;
  for (const line of stack.split("\n")) {
    const match = /\/((?:server|federation|crypto)\/[^\s:)]+):(\d+)/.exec(line);
    if (match && line.trim().startsWith("at ")) return `${match[1]}:${match[2]}`;
  }
  return null;
}

/** The message of a stack's first line with numbers and long runs blurred, for grouping. */
function blurred(text: string): string {
  return text.split("\n")[0]
    .replace(/ at \$\S*/g, " at $…") // JSON paths: one bug whatever field carried the value
    .replace(/'[^']*'|"[^"]*"/g, "'…'")
    .replace(/\d+/g, "N")
    .replace(/(.)\1{20,}/g, "$1…")
    .slice(0, 160);
}

/**
 * The root-cause signature failures are grouped by: for a 500 the server's error message and
 * first own stack frame (one bug seen through many routes is one group); otherwise the kind,
 * status and route.
 */
export function signatureOf(failure: Failure): string {
  if (failure.kind === "5xx" && failure.stack) {
    const message = blurred(failure.stack.replace(/^internal error:\s*/, ""));
    return `500 ${message} @ ${topFrame(failure.stack) ?? "?"}`;
  }
  if (failure.kind === "server-died") return "server died";
  return `${failure.kind} ${failure.status ?? ""} ${failure.request.routeKey}`.replace(/\s+/g, " ");
}
