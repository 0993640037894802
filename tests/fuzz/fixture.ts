/**
 * Setup of a fuzz run: real users (one admin), rooms, events, a device with keys, media, a
 * filter, a key backup... made with ordinary valid requests, so that fuzzed requests carry real
 * identifiers and reach deep code, and so that each route used here has a valid body for the
 * mutators to break.
 *
 * @module
 */

import { sharedSecretMac } from "../../server/admin/shared_secret_register.ts";
import { CrossSigning, TestDevice } from "../integration/e2ee_support.ts";
import { testPng } from "../support/test_images.ts";
import type { FixtureUser, Harness } from "./harness.ts";
import type { FuzzValue } from "./values.ts";

const V3 = "/_matrix/client/v3";

async function register(h: Harness, localpart: string): Promise<FixtureUser> {
  const password = `pw-${localpart}-${crypto.randomUUID()}`;
  const body = { username: localpart, password, initial_device_display_name: "fuzz" };
  const first = await h.call("POST", `${V3}/register`, { as: null, body });
  const session = String(first.json.session);
  const done = await h.call("POST", `${V3}/register`, {
    as: null,
    body: { ...body, auth: { type: "m.login.dummy", session } },
  });
  if (done.status !== 200) {
    throw new Error(`setup: register ${localpart}: ${JSON.stringify(done.json)}`);
  }
  h.remember("sessionId", session);
  return {
    userId: String(done.json.user_id),
    localpart,
    password,
    token: String(done.json.access_token),
    deviceId: String(done.json.device_id),
  };
}

async function registerAdmin(h: Harness, sharedSecret: string): Promise<FixtureUser> {
  const nonce = String(
    (await h.call("GET", "/_synapse/admin/v1/register", { as: null })).json.nonce,
  );
  const username = "fuzzadmin";
  const password = `pw-admin-${crypto.randomUUID()}`;
  const mac = await sharedSecretMac(sharedSecret, { nonce, username, password, admin: true });
  const res = await h.call("POST", "/_synapse/admin/v1/register", {
    as: null,
    body: { nonce, username, password, admin: true, mac },
  });
  if (res.status !== 200) throw new Error(`setup: admin: ${JSON.stringify(res.json)}`);
  return {
    userId: String(res.json.user_id),
    localpart: username,
    password,
    token: String(res.json.access_token),
    deviceId: String(res.json.device_id),
  };
}

/** Runs setup; every request goes through the same checks as fuzzed ones. */
export async function setUp(
  h: Harness,
  options: { sharedSecret: string; previewBase: string },
): Promise<{ imageId: string; backup: string }> {
  const admin = h.users.admin = await registerAdmin(h, options.sharedSecret);
  const user = h.users.user = await register(h, "fuzzuser");
  const other = h.users.other = await register(h, "fuzzother");
  // Admin routes deactivate, lock and log out the user they name: this one, not the above.
  h.adminTarget = (await register(h, "fuzztarget")).userId;
  for (const u of [other, user, admin]) {
    h.remember("userId", u.userId);
    h.remember("deviceId", u.deviceId);
  }
  h.remember("serverName", "localhost");
  const login = await h.call("POST", `${V3}/login`, {
    as: null,
    body: {
      type: "m.login.password",
      identifier: { type: "m.id.user", user: "fuzzuser" },
      password: user.password,
    },
  });
  h.remember("deviceId", login.json.device_id as string);

  // Rooms: a public one the admin made (both users join), a private one of the user.
  const pub = await h.call("POST", `${V3}/createRoom`, {
    as: "admin",
    body: { preset: "public_chat", room_alias_name: "fuzzroom", name: "Fuzz", topic: "fuzzing" },
  });
  const roomId = String(pub.json.room_id);
  const priv = await h.call("POST", `${V3}/createRoom`, {
    body: { preset: "private_chat", invite: [other.userId], is_direct: true },
  });
  const privateRoom = String(priv.json.room_id);
  for (const id of [roomId, privateRoom]) h.remember("roomId", id);
  h.remember("roomAlias", "#fuzzroom:localhost");
  await h.call("POST", `${V3}/join/${encodeURIComponent("#fuzzroom:localhost")}`, { body: {} });
  await h.call("POST", `${V3}/rooms/${encodeURIComponent(roomId)}/join`, { as: "other", body: {} });
  await h.call("POST", `${V3}/rooms/${encodeURIComponent(privateRoom)}/join`, {
    as: "other",
    body: {},
  });

  // Events: a message, a reaction and a thread reply to it, state, a redaction.
  const room = encodeURIComponent(roomId);
  const msg = await h.call("PUT", `${V3}/rooms/${room}/send/m.room.message/t1`, {
    body: { msgtype: "m.text", body: "hello fuzz" },
  });
  const eventId = String(msg.json.event_id);
  h.remember("eventId", eventId);
  const relates = { event_id: eventId };
  for (
    const [txn, type, content] of [
      ["t2", "m.reaction", { "m.relates_to": { ...relates, rel_type: "m.annotation", key: "👍" } }],
      ["t3", "m.room.message", {
        msgtype: "m.text",
        body: "in thread",
        "m.relates_to": { ...relates, rel_type: "m.thread" },
      }],
      ["t4", "m.room.message", { msgtype: "m.text", body: "to redact" }],
    ] as const
  ) {
    const res = await h.call("PUT", `${V3}/rooms/${room}/send/${type}/${txn}`, {
      as: "other",
      body: content,
    });
    h.remember("eventId", res.json.event_id as string);
  }
  const topic = await h.call("PUT", `${V3}/rooms/${room}/state/m.room.topic`, {
    as: "admin",
    body: { topic: "new" },
  });
  h.remember("eventId", topic.json.event_id as string);
  const last = h.plausible.eventId.at(-1)!;
  await h.call("PUT", `${V3}/rooms/${room}/redact/${encodeURIComponent(last)}/r1`, {
    as: "other",
    body: { reason: "x" },
  });

  // Per-user data.
  const me = encodeURIComponent(user.userId);
  await h.call("POST", `${V3}/rooms/${room}/receipt/m.read/${encodeURIComponent(eventId)}`, {
    body: {},
  });
  await h.call("POST", `${V3}/rooms/${room}/read_markers`, {
    body: { "m.fully_read": eventId, "m.read": eventId },
  });
  await h.call("PUT", `${V3}/rooms/${room}/typing/${me}`, {
    body: { typing: true, timeout: 3000 },
  });
  await h.call("PUT", `${V3}/presence/${me}/status`, {
    body: { presence: "online", status_msg: "fuzz" },
  });
  await h.call("PUT", `${V3}/profile/${me}/displayname`, { body: { displayname: "Fuzz User" } });
  await h.call("PUT", `${V3}/user/${me}/account_data/org.example.fuzz`, { body: { a: 1 } });
  await h.call("PUT", `${V3}/user/${me}/rooms/${room}/account_data/org.example.fuzz`, {
    body: { b: 2 },
  });
  await h.call("PUT", `${V3}/user/${me}/rooms/${room}/tags/u.fuzz`, { body: { order: 0.5 } });
  const filter = await h.call("POST", `${V3}/user/${me}/filter`, {
    body: {
      room: { timeline: { limit: 5 }, rooms: [roomId] },
      presence: { types: ["m.presence"] },
    },
  });
  h.remember("filterId", filter.json.filter_id as string);
  await h.call("PUT", `${V3}/pushrules/global/override/fuzzrule`, {
    body: {
      actions: ["notify"],
      conditions: [{ kind: "event_match", key: "content.body", pattern: "fuzz" }],
    },
  });
  await h.call("POST", `${V3}/pushers/set`, {
    body: {
      pushkey: "fuzzkey",
      kind: "http",
      app_id: "org.example.fuzz",
      app_display_name: "Fuzz",
      device_display_name: "Fuzz",
      lang: "en",
      data: { url: "https://push.example.org/_matrix/push/v1/notify" },
    },
  });
  await h.call("PUT", `${V3}/directory/list/room/${room}`, {
    as: "admin",
    body: { visibility: "public" },
  });
  await h.call("PUT", `${V3}/directory/room/${encodeURIComponent("#fuzzalias:localhost")}`, {
    as: "admin",
    body: { room_id: roomId },
  });
  await h.call("POST", `${V3}/rooms/${room}/report/${encodeURIComponent(eventId)}`, {
    body: { reason: "fuzz", score: -50 },
  });
  await h.call("POST", `${V3}/user_directory/search`, { body: { search_term: "fuzz", limit: 5 } });
  await h.call("POST", `${V3}/search`, {
    body: { search_categories: { room_events: { search_term: "hello" } } },
  });
  await h.call("POST", `${V3}/publicRooms`, {
    body: { limit: 5, filter: { generic_search_term: "fuzz" } },
  });

  // E2EE: device keys and one-time keys, cross-signing, a to-device message, a key backup.
  const device = await TestDevice.create({ ...user, accessToken: user.token });
  await h.call("POST", `${V3}/keys/upload`, {
    body: { device_keys: await device.deviceKeys(), one_time_keys: await device.oneTimeKeys(3) },
  });
  await h.call("POST", `${V3}/keys/query`, {
    as: "other",
    body: { device_keys: { [user.userId]: [] } },
  });
  await h.call("POST", `${V3}/keys/claim`, {
    as: "other",
    body: { one_time_keys: { [user.userId]: { [user.deviceId]: "signed_curve25519" } } },
  });
  // Live user-interactive auth sessions (never completed), so that fuzzed `auth` objects
  // reach the stage checks instead of stopping at "unknown session".
  const pending: ["user" | null, string, FuzzValue][] = [
    [null, `${V3}/register`, { username: "fuzzlater", password: "pw-later-secret" }],
    ["user", `${V3}/delete_devices`, { devices: ["NODEVICE"] }],
  ];
  for (const [as, path, body] of pending) {
    const res = await h.call("POST", path, { as, body, record: false });
    h.remember("sessionId", res.json.session as string);
  }
  const cross = await CrossSigning.create(user.userId);
  const uia = await h.call("POST", `${V3}/keys/device_signing/upload`, {
    body: await cross.uploadBody(),
  });
  await h.call("POST", `${V3}/keys/device_signing/upload`, {
    body: {
      ...await cross.uploadBody(),
      auth: {
        type: "m.login.password",
        identifier: { type: "m.id.user", user: user.userId },
        password: user.password,
        session: String(uia.json.session),
      },
    },
    record: false, // no mutated body may carry the password
  });
  await h.call("PUT", `${V3}/sendToDevice/m.room.encrypted/td1`, {
    as: "other",
    body: {
      messages: {
        [user.userId]: {
          [user.deviceId]: { algorithm: "m.olm.v1.curve25519-aes-sha2", ciphertext: {} },
        },
      },
    },
  });
  const backup = await h.call("POST", `${V3}/room_keys/version`, {
    body: {
      algorithm: "m.megolm_backup.v1.curve25519-aes-sha2",
      auth_data: { public_key: "abcdefg", signatures: {} },
    },
  });
  const version = String(backup.json.version);
  h.remember("backupVersion", version);
  await h.call("PUT", `${V3}/room_keys/keys/${room}/sess1`, {
    query: { version },
    body: {
      first_message_index: 0,
      forwarded_count: 0,
      is_verified: true,
      session_data: { ciphertext: "x", ephemeral: "y", mac: "z" },
    },
  });
  h.remember("sessionId", "sess1");

  // Media: an image (thumbnails reach the decoders) and a created-but-empty ID.
  const upload = await h.call("POST", "/_matrix/media/v3/upload", {
    body: testPng(16, 16),
    contentType: "image/png",
    query: { filename: "fuzz.png" },
  });
  const mxc = String(upload.json.content_uri);
  h.remember("mxc", mxc);
  h.remember("mediaId", mxc.split("/").pop());
  // A created ID is filled at once: downloads of a pending one wait for it (20 s by default,
  // as the spec says), which would look like a hung request.
  const created = await h.call("POST", "/_matrix/media/v1/create", { body: {} });
  const pendingId = String(created.json.content_uri).split("/").pop();
  await h.call("PUT", `/_matrix/media/v3/upload/localhost/${pendingId}`, {
    body: new TextEncoder().encode("fuzz text"),
    contentType: "text/plain",
    query: { filename: "fuzz.txt" },
  });
  h.remember("mxc", created.json.content_uri as string);
  h.remember("mediaId", pendingId);
  for (const url of [`${options.previewBase}/page?title=t`, `${options.previewBase}/img.png`]) {
    h.remember("url", url);
    await h.call("GET", "/_matrix/client/v1/media/preview_url", { query: { url } });
  }
  // Pages and images with broken %-escapes, long names and IPv4-in-IPv6 hosts in their URLs.
  for (const path of ["/img%zz.png", "/img/%E0%A4%A", `/img/${"b".repeat(300)}.png`]) {
    h.remember("url", `${options.previewBase}${path}`);
  }
  for (
    const img of [
      "/img%zz.png",
      "/img/%E0%A4%A",
      "http://[::ffff:127.0.0.1]/img",
      "/img/" + "a".repeat(3000),
    ]
  ) {
    h.remember("url", `${options.previewBase}/page?img=${encodeURIComponent(img)}`);
  }

  // Stream positions and queries of the read-side routes.
  const sync = await h.call("GET", `${V3}/sync`, { query: { timeout: "0" } });
  h.remember("streamToken", sync.json.next_batch as string);
  const messages = await h.call("GET", `${V3}/rooms/${room}/messages`, {
    query: { dir: "b", limit: "10" },
  });
  h.remember("streamToken", messages.json.end as string);
  h.remember("streamToken", messages.json.start as string);
  await h.call("GET", `${V3}/rooms/${room}/context/${encodeURIComponent(eventId)}`, {
    query: { limit: "3" },
  });
  await h.call("GET", `/_matrix/client/v1/rooms/${room}/relations/${encodeURIComponent(eventId)}`, {
    query: { limit: "5" },
  });
  await h.call("GET", `/_matrix/client/v1/rooms/${room}/threads`, { query: { include: "all" } });
  await h.call("GET", `${V3}/keys/changes`, {
    query: { from: String(sync.json.next_batch), to: String(sync.json.next_batch) },
  });
  await h.call("GET", "/_synapse/admin/v1/media/largest", { as: "admin", query: { limit: "5" } });

  // The web app's hashed asset names, from its index page.
  const page = await fetch(`${h.baseUrl}/`).then((r) => r.text()).catch(() => "");
  for (const match of page.matchAll(/\/assets\/([A-Za-z0-9._-]+)/g)) {
    h.remember("assetFile", match[1]);
  }
  return { imageId: mxc.split("/").pop()!, backup: version };
}

/**
 * Keeps the fixture usable while fuzzed requests undo it: the users join the public room
 * again, and deleted media and key backups are made again (in place of the old identifiers).
 */
export async function repairFixture(
  h: Harness,
  state: { imageId: string; backup: string },
): Promise<void> {
  const roomId = h.plausible.roomId[0];
  if (!roomId) return;
  for (const who of ["user", "other"] as const) {
    await h.call("POST", `${V3}/join/${encodeURIComponent(roomId)}`, {
      as: who,
      body: {},
      record: false,
    });
  }
  const media = await h.call(
    "GET",
    `/_matrix/client/v1/media/download/localhost/${state.imageId}`,
    { record: false },
  );
  if (media.status === 404) {
    const upload = await h.call("POST", "/_matrix/media/v3/upload", {
      body: testPng(16, 16),
      contentType: "image/png",
      record: false,
    });
    const mxc = String(upload.json.content_uri);
    const id = mxc.split("/").pop()!;
    if (upload.status === 200) {
      h.replace("mediaId", state.imageId, id);
      h.replace("mxc", `mxc://localhost/${state.imageId}`, mxc);
      state.imageId = id;
    }
  }
  const backup = await h.call("GET", `${V3}/room_keys/version/${state.backup}`, { record: false });
  if (backup.status === 404) {
    const made = await h.call("POST", `${V3}/room_keys/version`, {
      body: {
        algorithm: "m.megolm_backup.v1.curve25519-aes-sha2",
        auth_data: { public_key: "abcdefg" },
      },
      record: false,
    });
    if (made.status === 200) {
      h.replace("backupVersion", state.backup, String(made.json.version));
      state.backup = String(made.json.version);
    }
  }
}
