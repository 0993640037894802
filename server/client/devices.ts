/**
 * Device management: `GET /_matrix/client/v3/devices`, `GET/PUT/DELETE /v3/devices/{deviceId}`
 * and `POST /v3/delete_devices` (deletion with user-interactive auth by password). An
 * application service creates devices with `PUT` and deletes them without user-interactive
 * auth (server/appservice/privileges.ts).
 *
 * @module
 */

import { encodeBase64 } from "../../crypto/base64.ts";
import { sha256 } from "../../crypto/hashes.ts";
import { recordDeviceListChange } from "../e2ee/device_lists.ts";
import { Hono } from "hono";
import { badJson, notFound } from "../errors.ts";
import { optionalObject, optionalString, optionalStringArray } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, clientIp, rateLimit, readBody, requireAuth } from "../request_context.ts";
import { createServiceDevice, skipsUia } from "../appservice/privileges.ts";
import { deleteDevices, getDevice, listDevices, renameDevice } from "../store/devices.ts";
import type { DeviceRecord } from "../store/kv_store.ts";
import { MAX_DEVICE_ID_BYTES, MAX_DEVICE_NAME_BYTES } from "./login.ts";
import { requireUia } from "./uia.ts";

/** The spec's `Device` object. */
function deviceJson(device: DeviceRecord): Record<string, unknown> {
  return {
    device_id: device.deviceId,
    display_name: device.displayName ?? undefined,
    last_seen_ip: device.lastSeenIp ?? undefined,
    last_seen_ts: device.lastSeenTs,
  };
}

/** Routes of device management. */
export function deviceRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireAuth(hs);

  app.get("/_matrix/client/v3/devices", auth, async (c) => {
    const devices = await listDevices(hs.kv, c.var.auth.userId);
    return c.json({ devices: devices.map(deviceJson) });
  });

  app.get("/_matrix/client/v3/devices/:deviceId", auth, async (c) => {
    const device = await getDevice(hs.kv, c.var.auth.userId, c.req.param("deviceId"));
    if (!device) throw notFound("You have no device with that ID");
    return c.json(deviceJson(device));
  });

  app.put("/_matrix/client/v3/devices/:deviceId", auth, async (c) => {
    const body = await readBody(hs, c);
    const displayName = optionalString(body, "display_name", { maxBytes: MAX_DEVICE_NAME_BYTES });
    if (c.get("appservice")) {
      rateLimit(hs, c, "login", { userId: c.var.auth.userId });
      const target = { userId: c.var.auth.userId, deviceId: c.req.param("deviceId") };
      const made = await createServiceDevice(hs, { ...target, displayName });
      if (made === "created") return c.json({}, 201);
    }
    if (displayName !== undefined) {
      const target = { userId: c.var.auth.userId, deviceId: c.req.param("deviceId") };
      const before = await getDevice(hs.kv, target.userId, target.deviceId);
      if (!before || !(await renameDevice(hs.kv, target, displayName))) {
        throw notFound("You have no device with that ID");
      }
      // Device names are public to users sharing a room (in their key queries).
      if (before.displayName !== displayName) {
        await recordDeviceListChange(hs, { userId: target.userId, deviceIds: [target.deviceId] });
      }
    } else if (!(await getDevice(hs.kv, c.var.auth.userId, c.req.param("deviceId")))) {
      throw notFound("You have no device with that ID");
    }
    return c.json({});
  });

  app.delete("/_matrix/client/v3/devices/:deviceId", auth, async (c) => {
    const { userId } = c.var.auth;
    const deviceId = c.req.param("deviceId");
    const body = await readBody(hs, c, { allowEmpty: true });
    if (!(await getDevice(hs.kv, userId, deviceId))) {
      throw notFound("You have no device with that ID");
    }
    const outcome = skipsUia(c) ? null : await requireUia(hs, optionalObject(body, "auth"), {
      purpose: `delete_device`,
      userId,
      // A session started to delete one device cannot delete another.
      operation: deviceId,
      flows: [["m.login.password"]],
      ip: clientIp(c),
    });
    const deleted = await deleteDevices(hs.kv, userId, {
      select: (device) => device.deviceId === deviceId,
      prepare: (op) => void (outcome && op.delete(outcome.sessionKey)),
    });
    await hs.notify("devicesDeleted", userId, deleted);
    return c.json({});
  });

  app.post("/_matrix/client/v3/delete_devices", auth, async (c) => {
    const { userId } = c.var.auth;
    const body = await readBody(hs, c);
    const ids = optionalStringArray(body, "devices", {
      maxBytes: MAX_DEVICE_ID_BYTES,
      maxItems: 1000,
    });
    if (ids === undefined) throw badJson("'devices' is required");
    const outcome = skipsUia(c) ? null : await requireUia(hs, optionalObject(body, "auth"), {
      purpose: "delete_devices",
      userId,
      // The set of devices, hashed to keep the session record small.
      operation: encodeBase64(
        sha256(new TextEncoder().encode([...new Set(ids)].sort().join("\n"))),
      ),
      flows: [["m.login.password"]],
      ip: clientIp(c),
    });
    const wanted = new Set(ids);
    const deleted = await deleteDevices(hs.kv, userId, {
      select: (device) => wanted.has(device.deviceId),
      prepare: (op) => void (outcome && op.delete(outcome.sessionKey)),
    });
    await hs.notify("devicesDeleted", userId, deleted);
    return c.json({});
  });

  return app;
}
