/**
 * Request authentication between servers (Server-Server API, "Request Authentication"): the
 * JSON object a request's signature covers, the `Authorization: X-Matrix ...` header that
 * carries it, and signing and checking a request. Pure: the caller supplies the signing key or
 * the sender's public key, and the request's parts.
 *
 * Parsing follows RFC 9110's auth-param grammar as the spec asks (names case-insensitive, values
 * as tokens or quoted strings with backslash escapes, spaces and tabs around commas), and accepts
 * colons (and other visible characters but commas and quotes) in unquoted values, as older
 * servers send them.
 *
 * @module
 */

import { type SigningKey, signJson, verifyJsonSignature } from "../crypto/signing.ts";
import { isValidServerName } from "./identifiers.ts";

/** The parameters of an `X-Matrix` authorization header. */
export interface XMatrixAuth {
  /** The sending server's name. */
  origin: string;
  /** The receiving server's name (required of senders since v1.3; optional when received). */
  destination?: string;
  /** The signing key's ID, e.g. `ed25519:a_Abc`. */
  key: string;
  /** The unpadded Base64 signature. */
  sig: string;
}

/** The parts of a request that its signature covers. */
export interface SignedRequest {
  method: string;
  /** The path and query exactly as sent, starting with `/_matrix/`. */
  uri: string;
  origin: string;
  destination: string;
  /** The parsed JSON body, when the request has one. */
  content?: unknown;
}

/** The JSON object whose signature authenticates a request (step 1 of the spec). */
export function requestSigningJson(request: SignedRequest): Record<string, unknown> {
  const json: Record<string, unknown> = {
    method: request.method,
    uri: request.uri,
    origin: request.origin,
    destination: request.destination,
  };
  if (request.content !== undefined) json.content = request.content;
  return json;
}

/**
 * The header value for `auth`, written the way older servers read it: one space after the
 * scheme, lower-case names, quoted values, no spaces around commas.
 */
export function formatXMatrix(auth: XMatrixAuth): string {
  const params = [`origin=${quote(auth.origin)}`];
  if (auth.destination !== undefined) params.push(`destination=${quote(auth.destination)}`);
  params.push(`key=${quote(auth.key)}`, `sig=${quote(auth.sig)}`);
  return `X-Matrix ${params.join(",")}`;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
}

/** Why a header could not be read as `X-Matrix` authorization. */
export class XMatrixParseError extends Error {
  /** Always `M_UNAUTHORIZED`: the request is not authenticated. */
  readonly code = "M_UNAUTHORIZED";
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = "XMatrixParseError";
  }
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const UNQUOTED_CHAR = /[\x21\x23-\x2b\x2d-\x7e]/;
/** Header values beyond this are not worth reading (a signature and names fit in far less). */
const MAX_HEADER_LENGTH = 4096;

/**
 * Reads an `Authorization` header value of the `X-Matrix` scheme. Unknown parameters are
 * ignored; `origin`, `key` and `sig` are required, and `origin` (and `destination`, when
 * present) must be server names.
 *
 * @throws {XMatrixParseError} for another scheme or a malformed value
 */
export function parseXMatrix(header: string): XMatrixAuth {
  if (header.length > MAX_HEADER_LENGTH) throw new XMatrixParseError("Authorization too long");
  const scheme = /^x-matrix[ ]+/i.exec(header);
  if (!scheme) throw new XMatrixParseError("Authorization scheme must be X-Matrix");
  const params = new Map<string, string>();
  let i = scheme[0].length;
  const skipSpace = () => {
    while (header[i] === " " || header[i] === "\t") i++;
  };
  while (i < header.length) {
    skipSpace();
    const nameStart = i;
    while (i < header.length && TOKEN_CHAR.test(header[i])) i++;
    const name = header.slice(nameStart, i).toLowerCase();
    if (name === "") throw new XMatrixParseError(`Expected a parameter name at ${i}`);
    skipSpace();
    if (header[i] !== "=") throw new XMatrixParseError(`Expected '=' after ${name}`);
    i++;
    skipSpace();
    let value = "";
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === "\\") i++;
        if (i >= header.length) break;
        value += header[i++];
      }
      if (header[i] !== '"') throw new XMatrixParseError(`Unterminated value of ${name}`);
      i++;
    } else {
      // A token; leniently (older servers) any visible characters but a comma or quote, such
      // as the colons of key IDs and server names or the `/+` of an unquoted signature.
      while (i < header.length && UNQUOTED_CHAR.test(header[i])) value += header[i++];
      if (value === "") throw new XMatrixParseError(`Empty value of ${name}`);
    }
    if (params.has(name)) throw new XMatrixParseError(`Parameter ${name} given twice`);
    params.set(name, value);
    skipSpace();
    if (i < header.length) {
      if (header[i] !== ",") throw new XMatrixParseError(`Expected ',' at ${i}`);
      i++;
    }
  }
  const origin = params.get("origin");
  const key = params.get("key");
  const sig = params.get("sig");
  if (origin === undefined || key === undefined || sig === undefined) {
    throw new XMatrixParseError("X-Matrix needs origin, key and sig");
  }
  if (!isValidServerName(origin)) throw new XMatrixParseError("origin is not a server name");
  const destination = params.get("destination");
  if (destination !== undefined && !isValidServerName(destination)) {
    throw new XMatrixParseError("destination is not a server name");
  }
  return { origin, key, sig, ...(destination !== undefined ? { destination } : {}) };
}

/** Signs a request as `request.origin` and returns its `Authorization` header value. */
export async function signRequest(request: SignedRequest, key: SigningKey): Promise<string> {
  const signed = await signJson(requestSigningJson(request), request.origin, key);
  const sig = signed.signatures[request.origin][key.keyId];
  return formatXMatrix({
    origin: request.origin,
    destination: request.destination,
    key: key.keyId,
    sig,
  });
}

/**
 * Checks a received request's signature with the origin's public key `publicKey` (the key
 * `auth.key` names). The caller has checked that `auth.destination`, when present, is its own
 * name, and passes its own name as `destination`.
 *
 * @returns true when the signature covers exactly this method, URI, body and pair of servers
 */
export async function verifyRequest(
  request: Omit<SignedRequest, "origin">,
  auth: XMatrixAuth,
  publicKey: Uint8Array,
): Promise<boolean> {
  const json = {
    ...requestSigningJson({ ...request, origin: auth.origin }),
    signatures: { [auth.origin]: { [auth.key]: auth.sig } },
  };
  return await verifyJsonSignature(json, auth.origin, auth.key, publicKey);
}
