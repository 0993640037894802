/**
 * A user's devices over Synapse's admin API (server admins only; deletions and renames
 * audited):
 *
 * - `GET /_synapse/admin/v2/users/{userId}/devices`: `{devices: [...], total}`
 * - `GET|PUT|DELETE /_synapse/admin/v2/users/{userId}/devices/{deviceId}`
 * - `POST /_synapse/admin/v2/users/{userId}/delete_devices` with `{devices: [...]}`
 *
 * A deleted device's access and refresh tokens go in the same commit, and the device hooks
 * remove its keys and pushers, as when the user deletes it.
 *
 * @module
 */

import { Hono } from "hono";
import { badJson, notFound } from "../errors.ts";
import { optionalString, optionalStringArray } from "../http_util.ts";
import type { Homeserver } from "../homeserver.ts";
import { type AppEnv, readBody } from "../request_context.ts";
import { deleteDevices, getDevice, listDevices, renameDevice } from "../store/devices.ts";
import type { DeviceRecord } from "../store/kv_store.ts";
import { MAX_NAME_BYTES } from "../path_params.ts";
import { auditAdminAction } from "./audit.ts";
import { adminOnly } from "./admin_common.ts";
import { requireLocalAccount } from "./user_accounts.ts";

/** Most devices one `delete_devices` request names. */
const MAX_DELETE = 1000;

function deviceJson(device: DeviceRecord): Record<string, unknown> {
  return {
    device_id: device.deviceId,
    display_name: device.displayName,
    last_seen_ip: device.lastSeenIp,
    last_seen_ts: device.lastSeenTs,
    // User agents are not recorded (see admin_whois.ts).
    last_seen_user_agent: null,
    user_id: device.userId,
  };
}

/** Routes of device administration. */
export function userDevicesAdminRoutes(hs: Homeserver): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const admin = adminOnly(hs);
  const base = "/_synapse/admin/v2/users/:userId";

  async function remove(userId: string, ids: ReadonlySet<string>): Promise<string[]> {
    const deleted = await deleteDevices(hs.kv, userId, { select: (d) => ids.has(d.deviceId) });
    if (deleted.length > 0) await hs.notify("devicesDeleted", userId, deleted);
    return deleted;
  }

  app.get(`${base}/devices`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    await requireLocalAccount(hs, userId);
    const devices = await listDevices(hs.kv, userId);
    return c.json({ devices: devices.map(deviceJson), total: devices.length });
  });

  app.get(`${base}/devices/:deviceId`, ...admin, async (c) => {
    const { userId, deviceId } = c.req.param();
    await requireLocalAccount(hs, userId);
    const device = await getDevice(hs.kv, userId, deviceId);
    if (!device) throw notFound("No such device");
    return c.json(deviceJson(device));
  });

  app.put(`${base}/devices/:deviceId`, ...admin, async (c) => {
    const { userId, deviceId } = c.req.param();
    await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c, { allowEmpty: true });
    const name = optionalString(body, "display_name", { maxBytes: MAX_NAME_BYTES });
    if (name === undefined) return c.json({});
    if (!(await renameDevice(hs.kv, { userId, deviceId }, name))) {
      throw notFound("No such device");
    }
    await auditAdminAction(hs, c, "device.rename", {
      target: userId,
      details: { device_id: deviceId },
    });
    return c.json({});
  });

  app.delete(`${base}/devices/:deviceId`, ...admin, async (c) => {
    const { userId, deviceId } = c.req.param();
    await requireLocalAccount(hs, userId);
    // Deleting a device that is gone already succeeds, as in Synapse.
    const deleted = await remove(userId, new Set([deviceId]));
    if (deleted.length > 0) {
      await auditAdminAction(hs, c, "device.delete", {
        target: userId,
        details: { devices: deleted },
      });
    }
    return c.json({});
  });

  app.post(`${base}/delete_devices`, ...admin, async (c) => {
    const userId = c.req.param("userId");
    await requireLocalAccount(hs, userId);
    const body = await readBody(hs, c);
    if (body.devices === undefined) throw badJson("'devices' is required");
    const ids = optionalStringArray(body, "devices", {
      maxItems: MAX_DELETE,
      maxBytes: MAX_NAME_BYTES,
    }) ?? [];
    const deleted = await remove(userId, new Set(ids));
    if (deleted.length > 0) {
      await auditAdminAction(hs, c, "device.delete", {
        target: userId,
        details: { devices: deleted.slice(0, 50), count: deleted.length },
      });
    }
    return c.json({});
  });

  return app;
}
