/**
 * A browser's push service for tests: it holds one Web Push subscription (a P-256 key pair and
 * an authentication secret), checks each request's RFC 8030 headers and RFC 8292 VAPID
 * signature against the key the server advertises, and decrypts the RFC 8291 (aes128gcm)
 * payload with WebCrypto, as a browser would.
 *
 * @module
 */

import { decodeBase64Url, encodeBase64Url } from "../../crypto/base64.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const enc = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  bits: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(ikm), "HKDF", false, [
    "deriveBits",
  ]);
  const out = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(salt), info: new Uint8Array(info) },
    key,
    bits,
  );
  return new Uint8Array(out);
}

/** One message as the push service saw it, decrypted. */
export interface Received {
  headers: Headers;
  payload: Json;
  path: string;
}

/** A browser's push subscription and the push service holding it. */
export class PushService {
  readonly received: Received[] = [];
  readonly problems: string[] = [];
  /** Status codes to answer with next (then 201). */
  answers: number[] = [];
  #keys!: CryptoKeyPair;
  #public!: Uint8Array;
  readonly auth = crypto.getRandomValues(new Uint8Array(16));
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters: (() => void)[] = [];
  vapid = "";

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  async init(): Promise<this> {
    this.#keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ]) as CryptoKeyPair;
    this.#public = new Uint8Array(await crypto.subtle.exportKey("raw", this.#keys.publicKey));
    return this;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/push/sub-1`;
  }

  /** The `pushkey` of the subscription (the browser's `p256dh`). */
  get p256dh(): string {
    return encodeBase64Url(this.#public);
  }

  async #handle(req: Request): Promise<Response> {
    const body = new Uint8Array(await req.arrayBuffer());
    const status = this.answers.shift() ?? 201;
    if (status !== 201) return new Response("", { status });
    try {
      await this.#checkVapid(req.headers, new URL(req.url).origin);
      for (const name of ["ttl", "urgency"]) {
        if (!req.headers.get(name)) this.problems.push(`no ${name} header`);
      }
      if (req.headers.get("content-encoding") !== "aes128gcm") this.problems.push("encoding");
      const payload = JSON.parse(new TextDecoder().decode(await this.#decrypt(body)));
      this.received.push({ headers: req.headers, payload, path: new URL(req.url).pathname });
      for (const wake of this.#waiters.splice(0)) wake();
    } catch (err) {
      this.problems.push(String(err));
      return new Response("", { status: 400 });
    }
    return new Response("", { status: 201 });
  }

  /** RFC 8292: `vapid t=<JWT signed with the server's key>, k=<that key>`. */
  async #checkVapid(headers: Headers, origin: string): Promise<void> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(
      headers.get("authorization") ?? "",
    );
    if (!match) throw new Error(`authorization: ${headers.get("authorization")}`);
    const [, jwt, k] = match;
    if (k !== this.vapid) throw new Error("not the advertised VAPID key");
    const [head, claims, signature] = jwt.split(".");
    const key = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(decodeBase64Url(k)),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      new Uint8Array(decodeBase64Url(signature)),
      enc.encode(`${head}.${claims}`),
    );
    if (!ok) throw new Error("bad VAPID signature");
    const parsed = JSON.parse(new TextDecoder().decode(decodeBase64Url(claims)));
    if (parsed.aud !== origin) throw new Error(`aud ${parsed.aud}`);
    if (!(parsed.exp > Date.now() / 1000)) throw new Error("expired JWT");
    if (!/^(mailto:|https:)/.test(parsed.sub)) throw new Error(`sub ${parsed.sub}`);
  }

  /** RFC 8291 section 3 and RFC 8188: one aes128gcm record. */
  async #decrypt(body: Uint8Array): Promise<Uint8Array> {
    const salt = body.subarray(0, 16);
    const idLength = body[20];
    const serverKey = body.subarray(21, 21 + idLength);
    const ciphertext = body.subarray(21 + idLength);
    const peer = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(serverKey),
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const secret = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "ECDH", public: peer }, this.#keys.privateKey, 256),
    );
    const keyInfo = concat(enc.encode("WebPush: info\0"), this.#public, serverKey);
    const ikm = await hkdf(secret, this.auth, keyInfo, 256);
    const cek = await hkdf(ikm, salt, enc.encode("Content-Encoding: aes128gcm\0"), 128);
    const nonce = await hkdf(ikm, salt, enc.encode("Content-Encoding: nonce\0"), 96);
    const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
    const plain = new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, new Uint8Array(ciphertext)),
    );
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (plain[end] !== 2) throw new Error("no last-record delimiter");
    return plain.subarray(0, end);
  }

  async waitFor(match: (payload: Json) => boolean, ms = 15_000): Promise<Received> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.received.find((r) => match(r.payload));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no such push; got ${JSON.stringify(this.received.map((r) => r.payload))}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
