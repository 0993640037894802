/**
 * Server-side key backups (spec: "End-to-End Encryption > Server-side key backups"):
 * `/v3/room_keys/version[/{version}]` (create, read, update, delete) and
 * `/v3/room_keys/keys[/{roomId}[/{sessionId}]]` (store, read, delete).
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { isValidRoomId } from "../../federation/identifiers.ts";
import { badJson, invalidParam, MatrixError, missingParam, notFound } from "../errors.ts";
import type { Homeserver } from "../homeserver.ts";
import { type JsonObject, requiredString, utf8Length } from "../http_util.ts";
import { type AppEnv, readBody, requireAuth } from "../request_context.ts";
import {
  backupEtag,
  type BackupScope,
  createBackup,
  deleteBackup,
  deleteBackupKeys,
  getBackup,
  getBackupKeys,
  latestBackup,
  putBackupKeys,
  updateBackup,
} from "../e2ee/key_backup.ts";
import {
  type BackupSessionRecord,
  type BackupVersionRecord,
  parseBackupVersion,
} from "../e2ee/schema.ts";
import { canonical, isObject } from "../e2ee/validate.ts";
import { fitsOneValue } from "../store/kv_batch.ts";

/** Largest `auth_data` of a backup version. */
const MAX_AUTH_DATA_BYTES = 16 * 1024;
/** Largest `session_data` of one backed-up key (a Deno KV value holds at most 64 KiB). */
const MAX_SESSION_DATA_BYTES = 32 * 1024;
const MAX_SESSION_ID_BYTES = 255;

function versionJson(record: BackupVersionRecord): JsonObject {
  return {
    algorithm: record.algorithm,
    auth_data: record.authData,
    count: record.count,
    etag: backupEtag(record),
    version: record.version,
  };
}

function parseAuthData(body: JsonObject): JsonObject {
  const authData = body.auth_data;
  if (authData === undefined) throw missingParam("auth_data");
  if (!isObject(authData)) throw badJson("'auth_data' must be a JSON object");
  if (utf8Length(canonical(authData, "auth_data")) > MAX_AUTH_DATA_BYTES) {
    throw badJson(`'auth_data' must be at most ${MAX_AUTH_DATA_BYTES} bytes`);
  }
  return authData;
}

function parseSession(value: unknown, where: string): BackupSessionRecord {
  if (!isObject(value)) throw badJson(`${where} must be a KeyBackupData object`);
  const { first_message_index, forwarded_count, is_verified, session_data } = value;
  const count = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  if (!count(first_message_index)) {
    throw badJson(`${where}.first_message_index must be a non-negative integer`);
  }
  if (!count(forwarded_count)) {
    throw badJson(`${where}.forwarded_count must be a non-negative integer`);
  }
  if (typeof is_verified !== "boolean") throw badJson(`${where}.is_verified must be a boolean`);
  if (!isObject(session_data)) throw badJson(`${where}.session_data must be a JSON object`);
  if (utf8Length(canonical(session_data, "session_data")) > MAX_SESSION_DATA_BYTES) {
    throw badJson(`${where}.session_data must be at most ${MAX_SESSION_DATA_BYTES} bytes`);
  }
  const record: BackupSessionRecord = {
    first_message_index: first_message_index as number,
    forwarded_count: forwarded_count as number,
    is_verified,
    session_data,
  };
  // Storage counts characters, not UTF-8 bytes: one character above U+00FF in a string makes
  // all of it two bytes a character, so data within the byte limit can still overflow a value.
  if (!fitsOneValue(record)) {
    throw new MatrixError("M_TOO_LARGE", `${where}.session_data is too large to store`, {
      status: 413,
    });
  }
  return record;
}

function checkRoomId(roomId: string): string {
  if (!isValidRoomId(roomId)) throw invalidParam(`'${roomId.slice(0, 80)}' is not a room ID`);
  return roomId;
}

function checkSessionId(sessionId: string): string {
  if (sessionId === "" || utf8Length(sessionId) > MAX_SESSION_ID_BYTES) {
    throw invalidParam("Session IDs are 1 to 255 bytes");
  }
  return sessionId;
}

function parseSessions(value: unknown, where: string): Map<string, BackupSessionRecord> {
  if (!isObject(value)) throw badJson(`${where} must map session IDs to keys`);
  const sessions = new Map<string, BackupSessionRecord>();
  for (const [sessionId, data] of Object.entries(value)) {
    sessions.set(checkSessionId(sessionId), parseSession(data, `${where}.${sessionId}`));
  }
  return sessions;
}

/** The required `version` query parameter of `/room_keys/keys`. */
function versionParam(c: Context<AppEnv>): string {
  const raw = c.req.query("version");
  if (raw === undefined) throw missingParam("version");
  const version = parseBackupVersion(raw);
  if (version === null) throw notFound("Unknown backup version");
  return version;
}

/** The room and session of a `/room_keys/keys/...` path. */
function scopeOf(c: Context<AppEnv>): BackupScope {
  const roomId = c.req.param("roomId");
  const sessionId = c.req.param("sessionId");
  return {
    roomId: roomId === undefined ? undefined : checkRoomId(roomId),
    sessionId: sessionId === undefined ? undefined : checkSessionId(sessionId),
  };
}

function sessionsJson(sessions: Map<string, BackupSessionRecord> | undefined): JsonObject {
  return Object.fromEntries(sessions ?? []);
}

/** Routes of server-side key backups. */
export function keyBackupRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);
  const base = "/_matrix/client/v3/room_keys";

  app.post(`${base}/version`, auth, async (c) => {
    const body = await readBody(hs, c);
    const algorithm = requiredString(body, "algorithm", { maxBytes: 255 });
    const authData = parseAuthData(body);
    const version = await createBackup(hs.kv, c.var.auth.userId, { algorithm, authData });
    return c.json({ version });
  });

  app.get(`${base}/version`, auth, async (c) => {
    const latest = await latestBackup(hs.kv, c.var.auth.userId);
    if (!latest) throw notFound("No current backup version");
    return c.json(versionJson(latest.value));
  });

  app.get(`${base}/version/:version`, auth, async (c) => {
    const version = parseBackupVersion(c.req.param("version"));
    const entry = version === null ? null : await getBackup(hs.kv, c.var.auth.userId, version);
    if (!entry) throw notFound("Unknown backup version");
    return c.json(versionJson(entry.value));
  });

  app.put(`${base}/version/:version`, auth, async (c) => {
    const version = parseBackupVersion(c.req.param("version"));
    if (version === null) throw notFound("Unknown backup version");
    const body = await readBody(hs, c);
    const algorithm = requiredString(body, "algorithm", { maxBytes: 255 });
    const authData = parseAuthData(body);
    if (body.version !== undefined && body.version !== c.req.param("version")) {
      throw invalidParam("'version' in the body must match the version in the path");
    }
    await updateBackup(hs.kv, c.var.auth.userId, { version, algorithm, authData });
    return c.json({});
  });

  app.delete(`${base}/version/:version`, auth, async (c) => {
    const version = parseBackupVersion(c.req.param("version"));
    if (version === null || !(await deleteBackup(hs.kv, c.var.auth.userId, version))) {
      throw notFound("Unknown backup version");
    }
    return c.json({});
  });

  const put = async (c: Context<AppEnv>) => {
    const version = versionParam(c);
    const scope = scopeOf(c);
    const body = await readBody(hs, c);
    const keys = new Map<string, Map<string, BackupSessionRecord>>();
    if (scope.sessionId !== undefined) {
      keys.set(scope.roomId!, new Map([[scope.sessionId, parseSession(body, "body")]]));
    } else if (scope.roomId !== undefined) {
      keys.set(scope.roomId, parseSessions(body.sessions, "'sessions'"));
    } else {
      if (!isObject(body.rooms)) throw badJson("'rooms' must map room IDs to sessions");
      for (const [roomId, room] of Object.entries(body.rooms)) {
        checkRoomId(roomId);
        if (!isObject(room)) throw badJson(`'rooms.${roomId}' must be an object`);
        keys.set(roomId, parseSessions(room.sessions, `'rooms.${roomId}.sessions'`));
      }
    }
    return c.json(await putBackupKeys(hs.kv, c.var.auth.userId, { version, keys }));
  };

  const get = async (c: Context<AppEnv>) => {
    const version = versionParam(c);
    const scope = scopeOf(c);
    const rooms = await getBackupKeys(hs.kv, c.var.auth.userId, { version, ...scope });
    if (scope.sessionId !== undefined) {
      const data = rooms.get(scope.roomId!)?.get(scope.sessionId);
      if (!data) throw notFound("No key for that session in this backup");
      return c.json(data);
    }
    if (scope.roomId !== undefined) {
      return c.json({ sessions: sessionsJson(rooms.get(scope.roomId)) });
    }
    const out: JsonObject = {};
    for (const [roomId, sessions] of rooms) out[roomId] = { sessions: sessionsJson(sessions) };
    return c.json({ rooms: out });
  };

  const del = async (c: Context<AppEnv>) => {
    const version = versionParam(c);
    const scope = scopeOf(c);
    return c.json(await deleteBackupKeys(hs.kv, c.var.auth.userId, { version, ...scope }));
  };

  for (const path of [`${base}/keys`, `${base}/keys/:roomId`, `${base}/keys/:roomId/:sessionId`]) {
    app.put(path, auth, put);
    app.get(path, auth, get);
    app.delete(path, auth, del);
  }
  return app;
}
