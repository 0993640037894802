/**
 * matrix-js-sdk (Rust crypto) clients for the cross-server E2EE tests: a started client whose
 * to-device requests are recorded, polling, password UIA, an emoji (SAS) verification between
 * two users driven on both sides, and encrypted attachments moved through a media repository.
 *
 * @module
 */

import * as sdk from "matrix-js-sdk";
import {
  CryptoEvent,
  type ShowSasCallbacks,
  VerificationPhase,
  type VerificationRequest,
  VerificationRequestEvent,
  type Verifier,
  VerifierEvent,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import { flushCrypto, quietLogger, type ToDeviceLog } from "../../integration/e2ee_sdk_support.ts";
import { firstSync } from "../../support/sdk_client.ts";
import { until as pollUntil } from "../../support/until.ts";
import {
  decryptAttachment,
  encryptAttachment,
  type EncryptedFile,
} from "../../../web/src/matrix/attachments.ts";

const TIMEOUT = 60_000;

/** A signed-in device. */
export type Account = { userId: string; accessToken: string; deviceId: string; password: string };

/** Polls `check` every 100 ms until it gives a truthy value, or throws after `ms`. */
export function until<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = TIMEOUT,
): Promise<T> {
  return pollUntil(what, check, { timeoutMs: ms, intervalMs: 100 });
}

/** The device ID of an access token. */
export async function whoami(baseUrl: string, accessToken: string): Promise<string> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/account/whoami`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`whoami: ${res.status} ${JSON.stringify(body)}`);
  return body.device_id;
}

/** The recorder of to-device requests, shared with the integration tests. */
export { type SentToDevice, ToDeviceLog } from "../../integration/e2ee_sdk_support.ts";

/** A started client (first sync done, keys uploaded) of `account`. */
export async function startedClient(
  baseUrl: string,
  account: Account,
  options: { log?: ToDeviceLog } = {},
): Promise<sdk.MatrixClient> {
  const client = sdk.createClient({
    baseUrl,
    userId: account.userId,
    deviceId: account.deviceId,
    accessToken: account.accessToken,
    fetchFn: options.log?.fetchFn,
    logger: Deno.env.get("E2EE_DEBUG") ? undefined : quietLogger,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const prepared = firstSync(client);
  await client.startClient({ initialSyncLimit: 20 });
  // A client whose first sync never completes fails the test instead of hanging it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${account.userId}: no first sync in 60 s`)), 60_000);
  });
  try {
    await Promise.race([prepared, timeout]);
  } catch (err) {
    client.stopClient();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  await flushCrypto(client);
  return client;
}

/** The decrypted event of `client`'s live timeline whose clear content `match` accepts. */
export function decrypted(
  client: sdk.MatrixClient,
  roomId: string,
  match: (content: Record<string, unknown>) => boolean,
): sdk.MatrixEvent | undefined {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.find((e) =>
    e.isEncrypted() && !e.isDecryptionFailure() && match(e.getClearContent() ?? {})
  );
}

/** Whether `client` has decrypted a message with `body`. */
export function reads(client: sdk.MatrixClient, roomId: string, body: string): boolean {
  return decrypted(client, roomId, (content) => content.body === body) !== undefined;
}

/** The device IDs of `userId` that `client` knows. */
export async function knownDevices(client: sdk.MatrixClient, userId: string): Promise<string[]> {
  const devices = await client.getCrypto()!.getUserDeviceInfo([userId], true);
  return [...devices.get(userId)?.keys() ?? []].sort();
}

/** Password auth for user-interactive auth, as the dict of one stage. */
export function passwordAuth(account: Account, session: string | undefined) {
  return {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: account.userId },
    password: account.password,
    session,
  };
}

/** Bootstraps cross-signing, answering the server's UIA with the account's password. */
export async function bootstrapCrossSigning(
  client: sdk.MatrixClient,
  account: Account,
): Promise<void> {
  await client.getCrypto()!.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async (makeRequest) => {
      try {
        await makeRequest(null);
      } catch (err) {
        const session = (err as sdk.MatrixError).data?.session as string | undefined;
        if ((err as sdk.MatrixError).httpStatus !== 401 || !session) throw err;
        await makeRequest(passwordAuth(account, session) as sdk.AuthDict);
      }
    },
  });
  await flushCrypto(client);
}

/** Runs `verifier` to its end, confirming the emoji once `compare` accepts them. */
function runSas(
  verifier: Verifier,
  compare: (sas: ShowSasCallbacks) => Promise<void>,
): Promise<void> {
  const onSas = (sas: ShowSasCallbacks) => {
    // A mismatch cancels the verification, and verify() rejects with the reason.
    compare(sas).then(() => sas.confirm(), (err) => {
      console.error(err);
      sas.mismatch();
    }).catch((err) => console.error("confirming the emoji failed:", err));
  };
  verifier.on(VerifierEvent.ShowSas, onSas);
  const shown = verifier.getShowSasCallbacks();
  if (shown) onSas(shown);
  return verifier.verify();
}

/** `promise`, or a rejection naming `what` after `ms` (no step of a test waits forever). */
function withTimeout<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function waitFor(
  request: VerificationRequest,
  what: string,
  done: (request: VerificationRequest) => boolean,
): Promise<void> {
  return until(what, () => done(request)).then(() => {});
}

/**
 * An emoji verification of `target`'s device by `initiator` over to-device messages: the
 * initiator asks, the target accepts, the initiator starts SAS, both compare the seven emoji
 * each computed and confirm them. Resolves with the emoji once both sides are done.
 */
export async function verifyBySas(
  initiator: sdk.MatrixClient,
  target: sdk.MatrixClient,
): Promise<string[]> {
  const incoming = new Promise<VerificationRequest>((resolve) => {
    const onRequest = (request: VerificationRequest) => {
      target.off(CryptoEvent.VerificationRequestReceived, onRequest);
      resolve(request);
    };
    target.on(CryptoEvent.VerificationRequestReceived, onRequest);
  });
  const request = await initiator.getCrypto()!.requestDeviceVerification(
    target.getUserId()!,
    target.getDeviceId()!,
  );
  const received = await withTimeout(incoming, "the verification request to arrive");
  await received.accept();
  await waitFor(request, "the request accepted", (r) => r.phase === VerificationPhase.Ready);

  const emoji: Record<"initiator" | "target", string[] | null> = {
    initiator: null,
    target: null,
  };
  // Each side confirms only once both sides show their emoji and they are the same.
  const compare = (side: "initiator" | "target") => async (sas: ShowSasCallbacks) => {
    emoji[side] = (sas.sas.emoji ?? []).map(([symbol]) => symbol);
    await until("both sides show emoji", () => emoji.initiator && emoji.target, 30_000);
    if (emoji.initiator!.join() !== emoji.target!.join() || emoji[side]!.length !== 7) {
      throw new Error(`the emoji differ: ${emoji.initiator} / ${emoji.target}`);
    }
  };
  const targetDone = new Promise<void>((resolve, reject) => {
    const onChange = () => {
      const verifier = received.verifier;
      if (!verifier) return;
      received.off(VerificationRequestEvent.Change, onChange);
      runSas(verifier, compare("target")).then(resolve, reject);
    };
    received.on(VerificationRequestEvent.Change, onChange);
    onChange();
  });
  const verifier = await request.startVerification("m.sas.v1");
  await withTimeout(
    Promise.all([runSas(verifier, compare("initiator")), targetDone]),
    "both sides to confirm the emoji",
  );
  await waitFor(request, "the initiator's request done", (r) => r.phase === VerificationPhase.Done);
  await waitFor(received, "the target's request done", (r) => r.phase === VerificationPhase.Done);
  return emoji.initiator!;
}

/** A client-server request with a raw body; answers the status and the body's bytes. */
async function raw(
  url: string,
  token: string,
  init: { method?: string; body?: Uint8Array<ArrayBuffer>; type?: string } = {},
): Promise<{ status: number; bytes: Uint8Array<ArrayBuffer> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (init.type) headers["content-type"] = init.type;
  const res = await fetch(url, { method: init.method ?? "GET", headers, body: init.body });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/**
 * Encrypts `plaintext` as an attachment, uploads the ciphertext to the media repository at
 * `baseUrl` and answers the `file` of the event that carries it, and the ciphertext.
 */
export async function uploadEncrypted(
  baseUrl: string,
  token: string,
  plaintext: Uint8Array<ArrayBuffer>,
): Promise<{ file: EncryptedFile; ciphertext: Uint8Array<ArrayBuffer> }> {
  const { ciphertext, info } = await encryptAttachment(plaintext);
  const up = await raw(`${baseUrl}/_matrix/media/v3/upload`, token, {
    method: "POST",
    body: ciphertext,
    type: "application/octet-stream",
  });
  const body = JSON.parse(new TextDecoder().decode(up.bytes));
  if (up.status !== 200) throw new Error(`upload: ${up.status} ${JSON.stringify(body)}`);
  return { file: { url: body.content_uri, ...info }, ciphertext };
}

/**
 * Downloads an encrypted attachment from `downloadBase` + `/{server}/{mediaId}` of its mxc URL,
 * checks its hash and decrypts it.
 */
export async function downloadDecrypted(
  downloadBase: string,
  token: string,
  file: EncryptedFile,
): Promise<Uint8Array> {
  const mxc = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(file.url);
  if (!mxc) throw new Error(`not an mxc URL: ${file.url}`);
  const got = await raw(`${downloadBase}/${mxc[1]}/${mxc[2]}`, token);
  if (got.status !== 200) {
    throw new Error(`download ${file.url}: ${got.status} ${new TextDecoder().decode(got.bytes)}`);
  }
  return new Uint8Array(await decryptAttachment(got.bytes, file));
}

/** Whether any byte value in `kv` contains `needle`. */
export async function kvHoldsBytes(kv: Deno.Kv, needle: Uint8Array): Promise<boolean> {
  for await (const entry of kv.list({ prefix: [] })) {
    const value = entry.value;
    if (value instanceof Uint8Array && indexOf(value, needle) >= 0) return true;
  }
  return false;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}
