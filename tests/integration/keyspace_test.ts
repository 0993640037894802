/**
 * Every top-level KV key prefix is declared in `server/store/keyspace.ts`, and nothing else
 * invents one. Two checks, each of which fails on a key under an undeclared prefix:
 *
 * - At run time: a real server on an in-memory KV serves a broad workload over HTTP (accounts,
 *   rooms, E2EE, media, user data, search, reports, ...) and shuts down cleanly (so the writes
 *   made behind commits, such as search postings and thumbnails, land); then every key in the
 *   database must start with a declared prefix, and every `["meta", name]` key name a declared
 *   meta key.
 * - In the source: every file under `server/` that touches Deno KV is scanned for array literals
 *   whose first element is a string literal (`["room_head", roomId]`, in key builders, in
 *   `kv.get/set/list/delete` calls and in atomic operations alike), after dropping comments.
 *   Array literals that are not KV keys are told apart by their context: element access
 *   (`obj["x"]`), value lists (`[...].includes(`, `new Set([`, `for (... of [`), and in-process
 *   turn names (`inTurn(kv, ["room_keys", ...])` names a lock, not a key). Every other first
 *   string must be a declared prefix, and every `["meta", "x"` a declared meta name. The scan
 *   also checks the other way: each declared prefix outside federation occurs in the source, so
 *   the declaration does not go stale.
 *
 * @module
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { MEDIA_TEST_CONFIG, upload } from "../support/media_support.ts";
import { testPng } from "../support/test_images.ts";
import { CrossSigning, type Json, TestDevice, uploadKeys } from "./e2ee_support.ts";
import { createRoom, enc, putState, roomPost, send, V3 } from "./rooms_support.ts";
import { hmacSha1Hex } from "../../crypto/tokens.ts";
import { createRegistrationToken } from "../../server/store/accounts.ts";
import {
  isKeyPrefix,
  isMetaKey,
  KEY_AREA_DOCS,
  KEY_PREFIXES,
  type KeyPrefix,
  META_KEYS,
} from "../../server/store/keyspace.ts";

const SERVER_DIR = new URL("../../server/", import.meta.url);
const KEYSPACE_FILE = "store/keyspace.ts";
const SHARED_SECRET = "keyspace test secret";

// Runtime check ---------------------------------------------------------------------------------

/** Prefixes the workload must reach, so that the runtime check is never vacuous. */
const EXPECTED_AT_RUNTIME: readonly KeyPrefix[] = [
  "user",
  "device",
  "access_token",
  "refresh_token",
  "registration_token",
  "uia",
  "shared_secret_nonce",
  "room",
  "room_head",
  "event",
  // "event_ref": written only for events off the room's head (federation: gaps, backfill,
  // joins), which this one-server workload does not make; tests/federation cover it.
  "room_timeline",
  "room_depth",
  "room_state",
  "state_group",
  "user_room",
  "txn",
  "room_alias",
  "room_alias_by_room",
  "room_public",
  "relation",
  "thread_root",
  "search",
  "e2ee_device",
  "e2ee_otk",
  "e2ee_otk_count",
  "e2ee_fallback",
  "e2ee_cross_signing",
  "e2ee_xsig",
  "e2ee_dl",
  "e2ee_dl_head",
  "e2ee_usig",
  "e2ee_to_device",
  "e2ee_to_device_txn",
  "e2ee_backup_counter",
  "e2ee_backup",
  "e2ee_backup_key",
  "media_chunk",
  "media_blob",
  "media_sha256",
  "media",
  "media_by_user",
  "media_by_size",
  "media_pending",
  "media_usage",
  "media_thumbnail",
  "filter",
  "account_data",
  "account_data_pos",
  "profile",
  "pusher",
  "pusher_owner",
  "receipt",
  "receipt_pos",
  "presence",
  "presence_pos",
  "report",
  "meta",
];

async function ok(
  what: string,
  res: Promise<{ status: number; body: Json | null }>,
): Promise<Json> {
  const r = await res;
  assertEquals(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
  return r.body ?? {};
}

/** Accounts: refresh tokens, a pending UIA session, a registration token, nonces. */
async function accountWorkload(t: TestServer, alice: TestUser): Promise<void> {
  const login = await ok(
    "login",
    t.request("POST", `${V3}/login`, {
      body: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: "alice" },
        password: alice.password,
        refresh_token: true,
      },
    }),
  );
  await ok(
    "refresh",
    t.request("POST", `${V3}/refresh`, { body: { refresh_token: login.refresh_token } }),
  );
  // A device deletion without auth leaves a UIA session behind.
  const uia = await t.request("DELETE", `${V3}/devices/${enc(login.device_id)}`, {
    token: alice.accessToken,
    body: {},
  });
  assertEquals(uia.status, 401);
  await createRegistrationToken(t.hs.kv, { usesAllowed: 3 });
  // Shared-secret registration: one nonce spent, one left waiting.
  const path = "/_synapse/admin/v1/register";
  const nonce = (await t.request("GET", path)).body.nonce;
  const fields = { nonce, username: "root", password: "pw-root", admin: true };
  const message = [nonce, fields.username, fields.password, "admin"].join("\0");
  const mac = await hmacSha1Hex(SHARED_SECRET, message);
  await ok("shared-secret register", t.request("POST", path, { body: { ...fields, mac } }));
  await t.request("GET", path);
}

/** Rooms: create with alias and directory entry, messages, state, threads, redaction, upgrade. */
async function roomWorkload(t: TestServer, alice: TestUser, bob: TestUser): Promise<string> {
  const roomId = await createRoom(t, alice, {
    preset: "public_chat",
    visibility: "public",
    room_alias_name: "keyspace",
    name: "Keyspace",
    topic: "where keys live",
  });
  await ok("join", roomPost(t, bob, roomId, "join"));
  const root = await ok("send", send(t, alice, roomId, { msgtype: "m.text", body: "hello keys" }));
  await ok(
    "thread reply",
    send(t, bob, roomId, {
      msgtype: "m.text",
      body: "in a thread",
      "m.relates_to": { rel_type: "m.thread", event_id: root.event_id },
    }),
  );
  const gone = await ok("send", send(t, bob, roomId, { msgtype: "m.text", body: "oops" }));
  await ok(
    "redact",
    t.request("PUT", `${V3}/rooms/${enc(roomId)}/redact/${enc(gone.event_id)}/r1`, {
      token: bob.accessToken,
      body: { reason: "typo" },
    }),
  );
  await ok("state", putState(t, alice, roomId, "m.room.topic", { topic: "changed" }));
  await ok(
    "receipt",
    t.request("POST", `${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(root.event_id)}`, {
      token: bob.accessToken,
      body: {},
    }),
  );
  await ok(
    "typing",
    t.request("PUT", `${V3}/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`, {
      token: bob.accessToken,
      body: { typing: true, timeout: 1000 },
    }),
  );
  await ok(
    "report",
    t.request("POST", `${V3}/rooms/${enc(roomId)}/report/${enc(root.event_id)}`, {
      token: bob.accessToken,
      body: { reason: "test" },
    }),
  );
  await ok(
    "search",
    t.request("POST", `${V3}/search`, {
      token: alice.accessToken,
      body: { search_categories: { room_events: { search_term: "hello" } } },
    }),
  );
  const other = await createRoom(t, alice, { preset: "private_chat" });
  await ok("invite", roomPost(t, alice, other, "invite", { user_id: bob.userId }));
  await ok("leave", roomPost(t, bob, other, "leave"));
  await ok(
    "upgrade",
    t.request("POST", `${V3}/rooms/${enc(other)}/upgrade`, {
      token: alice.accessToken,
      body: { new_version: "11" },
    }),
  );
  await ok("sync", t.request("GET", `${V3}/sync?timeout=0`, { token: bob.accessToken }));
  return roomId;
}

/** User data: filters, account data, tags, push rules, pushers, profile, presence. */
async function userDataWorkload(t: TestServer, alice: TestUser, roomId: string): Promise<void> {
  const token = alice.accessToken;
  const user = enc(alice.userId);
  await ok(
    "filter",
    t.request("POST", `${V3}/user/${user}/filter`, {
      token,
      body: { room: { timeline: { limit: 5 } } },
    }),
  );
  await ok(
    "account data",
    t.request("PUT", `${V3}/user/${user}/account_data/org.example.k`, { token, body: { a: 1 } }),
  );
  await ok(
    "tag",
    t.request("PUT", `${V3}/user/${user}/rooms/${enc(roomId)}/tags/u.work`, {
      token,
      body: { order: 0.5 },
    }),
  );
  await ok(
    "push rule",
    t.request("PUT", `${V3}/pushrules/global/content/keyspace`, {
      token,
      body: { pattern: "keys", actions: ["notify"] },
    }),
  );
  await ok(
    "pusher",
    t.request("POST", `${V3}/pushers/set`, {
      token,
      body: {
        pushkey: "abc",
        kind: "http",
        app_id: "org.example.app",
        app_display_name: "Example",
        device_display_name: "Phone",
        lang: "en",
        data: { url: "https://push.example.org/_matrix/push/v1/notify" },
      },
    }),
  );
  await ok(
    "displayname",
    t.request("PUT", `${V3}/profile/${user}/displayname`, { token, body: { displayname: "A" } }),
  );
  await ok(
    "presence",
    t.request("PUT", `${V3}/presence/${user}/status`, {
      token,
      body: { presence: "unavailable", status_msg: "away" },
    }),
  );
}

/** E2EE: device and one-time keys, a claim, cross-signing, a signature, to-device, backup. */
async function e2eeWorkload(t: TestServer, alice: TestUser, bob: TestUser): Promise<void> {
  const aliceDevice = await TestDevice.create(alice);
  const bobDevice = await TestDevice.create(bob);
  await ok(
    "keys upload",
    uploadKeys(t, alice, {
      device_keys: await aliceDevice.deviceKeys(),
      one_time_keys: await aliceDevice.oneTimeKeys(3),
      fallback_keys: await aliceDevice.oneTimeKeys(1, { fallback: true }),
    }),
  );
  await ok("keys upload", uploadKeys(t, bob, { device_keys: await bobDevice.deviceKeys() }));
  await ok(
    "keys claim",
    t.request("POST", `${V3}/keys/claim`, {
      token: bob.accessToken,
      body: { one_time_keys: { [alice.userId]: { [alice.deviceId]: "signed_curve25519" } } },
    }),
  );
  const aliceKeys = await CrossSigning.create(alice.userId);
  const bobKeys = await CrossSigning.create(bob.userId);
  for (const [user, keys] of [[alice, aliceKeys], [bob, bobKeys]] as const) {
    await ok(
      "device signing",
      t.request("POST", `${V3}/keys/device_signing/upload`, {
        token: user.accessToken,
        body: await keys.uploadBody(),
      }),
    );
  }
  const signed = await aliceKeys.signWith(aliceKeys.userSigning, bobKeys.keyObject("master"));
  const signatures = await ok(
    "signatures",
    t.request("POST", `${V3}/keys/signatures/upload`, {
      token: alice.accessToken,
      body: { [bob.userId]: { [bobKeys.master.publicKeyBase64]: signed } },
    }),
  );
  assertEquals(signatures.failures, {});
  await ok(
    "to-device",
    t.request("PUT", `${V3}/sendToDevice/m.test/txn1`, {
      token: alice.accessToken,
      body: { messages: { [bob.userId]: { [bob.deviceId]: { n: 1 } } } },
    }),
  );
  const version = await ok(
    "backup version",
    t.request("POST", `${V3}/room_keys/version`, {
      token: alice.accessToken,
      body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "k" } },
    }),
  );
  await ok(
    "backup keys",
    t.request(
      "PUT",
      `${V3}/room_keys/keys/${enc("!r:localhost")}/session1?version=${version.version}`,
      {
        token: alice.accessToken,
        body: {
          first_message_index: 0,
          forwarded_count: 0,
          is_verified: false,
          session_data: { ephemeral: "e", ciphertext: "c", mac: "m" },
        },
      },
    ),
  );
}

/** Media: an image (thumbnails follow), a duplicate, a media ID awaiting its upload. */
async function mediaWorkload(t: TestServer, alice: TestUser, bob: TestUser): Promise<void> {
  const png = testPng(400, 300);
  const first = await upload(t, alice.accessToken, png, { contentType: "image/png" });
  assertEquals(first.status, 200, JSON.stringify(first.body));
  const again = await upload(t, bob.accessToken, png, { contentType: "image/png" });
  assertEquals(again.status, 200, JSON.stringify(again.body));
  await ok("create", t.request("POST", "/_matrix/media/v1/create", { token: alice.accessToken }));
}

/** Collects each top-level prefix seen, and the names of `["meta", ...]` keys. */
async function prefixesIn(kv: Deno.Kv): Promise<{ prefixes: Set<unknown>; meta: Set<unknown> }> {
  const prefixes = new Set<unknown>();
  const meta = new Set<unknown>();
  for await (const { key } of kv.list({ prefix: [] })) {
    prefixes.add(key[0]);
    if (key[0] === "meta") meta.add(key[1]);
  }
  return { prefixes, meta };
}

Deno.test("keyspace: every key a real server writes starts with a declared prefix", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const t = await startTestServer({
      kv,
      config: {
        ...MEDIA_TEST_CONFIG,
        registration: { enabled: true, require_token: false, shared_secret: SHARED_SECRET },
      },
    });
    try {
      const alice = await t.register("alice");
      const bob = await t.register("bob");
      await accountWorkload(t, alice);
      const roomId = await roomWorkload(t, alice, bob);
      await userDataWorkload(t, alice, roomId);
      await e2eeWorkload(t, alice, bob);
      await mediaWorkload(t, alice, bob);
    } finally {
      // A clean shutdown writes what waits behind commits (search postings, thumbnails).
      await t.close();
    }
    const { prefixes, meta } = await prefixesIn(kv);
    const undeclared = [...prefixes].filter((p) => !isKeyPrefix(p));
    assertEquals(undeclared, [], "prefixes missing from server/store/keyspace.ts");
    const undeclaredMeta = [...meta].filter((m) => !isMetaKey(m));
    assertEquals(undeclaredMeta, [], "meta keys missing from META_KEYS in keyspace.ts");
    const unreached = EXPECTED_AT_RUNTIME.filter((p) => !prefixes.has(p));
    assertEquals(unreached, [], "the workload no longer reaches these prefixes");
  } finally {
    kv.close();
  }
});

// Static check ----------------------------------------------------------------------------------

/** Every .ts file under server/, as [path relative to server/, text]. */
async function serverSources(dir = SERVER_DIR, base = ""): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = base + entry.name;
    if (entry.isDirectory) {
      out.push(...await serverSources(new URL(`${entry.name}/`, dir), `${rel}/`));
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      out.push([rel, await Deno.readTextFile(new URL(entry.name, dir))]);
    }
  }
  return out;
}

/** Blanks comments (keeping strings, template literals and line breaks). */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Words after which `[` opens an array literal rather than an element access. */
const KEYWORDS_BEFORE_LITERAL = new Set([
  "return",
  "of",
  "in",
  "case",
  "typeof",
  "yield",
  "await",
  "else",
  "do",
  "throw",
  "void",
]);

/** A string-first array literal taken for a KV key. */
export interface KeyLiteral {
  file: string;
  line: number;
  first: string;
  second: string | null;
}

/** For each `[` of `code` (strings skipped): the index of the bracket enclosing it, or -1. */
function bracketParents(code: string): Map<number, number> {
  const parents = new Map<number, number>();
  const stack: number[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === "\\" ? 2 : 1;
      i = j;
    } else if (c === "[" || c === "(" || c === "{") {
      if (c === "[") parents.set(i, stack.at(-1) ?? -1);
      stack.push(i);
    } else if (c === "]" || c === ")" || c === "}") stack.pop();
  }
  return parents;
}

/** The index of the `]` closing the `[` at `open` (strings skipped), or -1. */
function matchingBracket(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === "\\" ? 2 : 1;
      i = j;
    } else if (c === "[") depth++;
    else if (c === "]" && --depth === 0) return i;
  }
  return -1;
}

/** An array literal's elements are all string literals (a list of values, when 3 or more). */
function stringElements(body: string): number {
  const inner = body.slice(1, -1).trim().replace(/,$/, "");
  if (!/^"[^"\\]*"(\s*,\s*"[^"\\]*")*$/.test(inner)) return 0;
  return inner.split(",").length;
}

/**
 * The string-first array literals of `source` that are KV keys (see the module comment). Key
 * prefixes are snake_case words, so literals starting with anything else (`"m.room.member"`,
 * `"SIGINT"`) are not considered.
 */
export function keyLiterals(file: string, source: string): KeyLiteral[] {
  const code = stripComments(source);
  const parents = bracketParents(code);
  const found: KeyLiteral[] = [];
  const literal = /\[\s*"([a-z][a-z0-9_]*)"(?:\s*,\s*"([^"\\\n]*)")?/g;
  for (const m of code.matchAll(literal)) {
    const before = code.slice(Math.max(0, m.index - 80), m.index).trimEnd();
    const word = /([\w$]+)$/.exec(before)?.[1];
    // Element access: `x["a"]`, `f()["a"]`, `a[0]["b"]`, `a?.["b"]`.
    if (/[\w$)\]]$|\?\.$/.test(before) && !(word && KEYWORDS_BEFORE_LITERAL.has(word))) continue;
    // Value lists: `new Set([...])`, `new Map([...])`, `for (const x of [...])`.
    if (/new\s+(Set|Map)\s*\(\s*$/.test(before) || word === "of") continue;
    // In-process turn names.
    if (/inTurn\s*\(\s*[\w$.]+\s*,\s*$/.test(before)) continue;
    const close = matchingBracket(code, m.index);
    const after = code.slice(close + 1, close + 40);
    // Value lists: `[...].includes(x)`, `.indexOf`, `.some`, `.map`, `.join`, ...
    if (/^\s*\.\s*(includes|indexOf|some|every|map|join|find|filter)\b/.test(after)) continue;
    // Value lists: three or more string literals and nothing else (keys have variable parts).
    if (stringElements(code.slice(m.index, close + 1)) >= 3) continue;
    // Inside an array that initialises a declaration typed other than as a KV key.
    let outer = m.index;
    while ((parents.get(outer) ?? -1) >= 0 && code[parents.get(outer)!] === "[") {
      outer = parents.get(outer)!;
    }
    const declared = /:\s*([^=:;]+?)\s*=\s*$/.exec(code.slice(Math.max(0, outer - 120), outer));
    if (declared && !declared[1].includes("KvKey")) continue;
    const line = code.slice(0, m.index).split("\n").length;
    found.push({ file, line, first: m[1], second: m[2] ?? null });
  }
  return found;
}

/** Files that touch Deno KV: they name its types, a KV handle, or atomic operations. */
function touchesKv(source: string): boolean {
  return /Deno\.Kv|\bkv\b|\.atomic\(|\bMutations\b/.test(source);
}

Deno.test("keyspace: the source builds keys only under declared prefixes", async () => {
  const sources = (await serverSources()).filter(([file, text]) =>
    file !== KEYSPACE_FILE && touchesKv(text)
  );
  assert(sources.length > 30, `only ${sources.length} KV files found under server/`);
  const literals = sources.flatMap(([file, text]) => keyLiterals(file, text));
  const bad = literals.filter((l) => !isKeyPrefix(l.first))
    .map((l) => `server/${l.file}:${l.line}: "${l.first}"`);
  assertEquals(bad, [], "key prefixes not declared in server/store/keyspace.ts");
  const badMeta = literals.filter((l) => l.first === "meta" && l.second && !isMetaKey(l.second))
    .map((l) => `server/${l.file}:${l.line}: ["meta", "${l.second}"]`);
  assertEquals(badMeta, [], "meta keys not declared in META_KEYS");
  // The other way: a declared prefix (outside federation, still being built) is used somewhere.
  const used = new Set(literals.map((l) => l.first));
  const stale = Object.entries(KEY_PREFIXES)
    .filter(([prefix, info]) => info.area !== "federation" && !used.has(prefix))
    .map(([prefix]) => prefix);
  assertEquals(stale, [], "declared prefixes no key literal under server/ uses");
  const metaUsed = new Set(literals.filter((l) => l.first === "meta").map((l) => l.second));
  const staleMeta = Object.keys(META_KEYS).filter((name) => !metaUsed.has(name));
  assertEquals(staleMeta, [], "declared meta keys no key literal uses");
});

Deno.test("keyspace: each area's document describes its prefixes", async () => {
  const root = new URL("../../", import.meta.url);
  const missing: string[] = [];
  for (const [prefix, info] of Object.entries(KEY_PREFIXES)) {
    const doc = KEY_AREA_DOCS[info.area];
    const text = await Deno.readTextFile(new URL(doc, root));
    if (!text.includes(`["${prefix}"`)) missing.push(`${prefix} (${doc})`);
  }
  assertEquals(missing, [], "prefixes whose area document does not show their keys");
  const storage = await Deno.readTextFile(new URL(KEY_AREA_DOCS.meta, root));
  const metaMissing = Object.keys(META_KEYS).filter((n) => !storage.includes(`["meta", "${n}"`));
  assertEquals(metaMissing, [], "meta keys missing from the storage document");
});

Deno.test("keyspace: the source scan tells keys from other string arrays", () => {
  const sample = [
    'const a = ["room_head", roomId];',
    '// a comment with ["commented", x]',
    'if (["join", "invite"].includes(m)) {}',
    'const s = new Set(["x", "y"]);',
    'for (const k of ["p", "q"]) {}',
    'const t = obj["field"];',
    'await inTurn(kv, ["lock_name", id], fn);',
    'kv.list({ prefix: [\n  "undeclared_thing",\n  id,\n] });',
    'op.max(["meta", "stream"], 1n);',
    'const u = `["in_template"]`;',
    'const KEY: Deno.KvKey = ["typed_key"];',
    'const states: readonly State[] = ["online", "offline"];',
    'const fields: [string, unknown][] = [\n  ["name", x],\n  ["topic", y],\n];',
    'const required = ["app_display_name", "lang", "kind"];',
    'const e = ["m.room.member", "SIGINT"];',
    'await kv.getMany([["many_a", x], ["many_b", y]]);',
  ].join("\n");
  const firsts = keyLiterals("sample.ts", sample).map((l) => l.first);
  assertEquals(firsts, [
    "room_head",
    "undeclared_thing",
    "meta",
    "in_template",
    "typed_key",
    "many_a",
    "many_b",
  ]);
});
