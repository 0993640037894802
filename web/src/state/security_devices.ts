/**
 * The account's devices in the security settings: name, last activity, whether each is
 * verified (cross-signed by the account, and only that), and renaming, verifying or signing out
 * one of them.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type { AppModel } from "./app.ts";
import { PasswordCancelled, type PasswordPrompt } from "./security_password.ts";
import { verificationModel } from "./verification.ts";

/** Whether a device is trusted. */
export type DeviceTrust = "verified" | "unverified" | "noKeys";

/** One device of the account. */
export interface DeviceRow {
  deviceId: string;
  displayName: string | null;
  lastSeenTs: number | null;
  /** The device this app runs on. */
  current: boolean;
  trust: DeviceTrust;
}

/** An action on a device that is under way or failed. */
export interface DeviceAction {
  deviceId: string;
  state: "busy" | "failed";
  message?: string;
}

/** The account's devices. */
export class DeviceList {
  readonly #app: AppModel;
  readonly #password: PasswordPrompt;
  readonly #rows = signal<DeviceRow[] | null>(null);
  readonly #error = signal<string | null>(null);
  readonly #action = signal<DeviceAction | null>(null);

  /** The devices, this one first; null until loaded. */
  readonly rows: ReadonlySignal<DeviceRow[] | null> = computed(() => this.#rows.value);
  /** Why the list could not be loaded. */
  readonly error: ReadonlySignal<string | null> = computed(() => this.#error.value);
  /** The running or failed action. */
  readonly action: ReadonlySignal<DeviceAction | null> = computed(() => this.#action.value);

  #watchers = 0;

  constructor(app: AppModel, password: PasswordPrompt) {
    this.#app = app;
    this.#password = password;
  }

  /** Someone shows the list: it is loaded (now and on changes) while watched. */
  get watched(): boolean {
    return this.#watchers > 0;
  }

  /** Starts showing the list; call the returned function when it is no longer shown. */
  watch(): () => void {
    this.#watchers++;
    const client = this.#app.session.client;
    if (client && this.#watchers === 1) void this.load(client);
    return () => void this.#watchers--;
  }

  /** Reads the devices from the server and their trust from the crypto. */
  async load(client: MatrixClient): Promise<void> {
    try {
      const userId = client.getSafeUserId();
      const own = client.getDeviceId();
      const crypto = client.getCrypto();
      const [{ devices }, known] = await Promise.all([
        client.getDevices(),
        crypto ? crypto.getUserDeviceInfo([userId], true) : Promise.resolve(null),
      ]);
      const withKeys = known?.get(userId);
      const rows = await Promise.all(devices.map(async (device): Promise<DeviceRow> => {
        let trust: DeviceTrust = "noKeys";
        if (crypto && withKeys?.has(device.device_id)) {
          const status = await crypto.getDeviceVerificationStatus(userId, device.device_id);
          // Only the account's cross-signing counts, as in the status panel: the Rust crypto
          // trusts its own device locally, which says nothing to the account's other devices.
          trust = status?.crossSigningVerified ? "verified" : "unverified";
        }
        return {
          deviceId: device.device_id,
          displayName: device.display_name ?? null,
          lastSeenTs: device.last_seen_ts ?? null,
          current: device.device_id === own,
          trust,
        };
      }));
      rows.sort((a, b) =>
        Number(b.current) - Number(a.current) || (b.lastSeenTs ?? 0) - (a.lastSeenTs ?? 0)
      );
      if (client === this.#app.session.client) {
        this.#rows.value = rows;
        this.#error.value = null;
      }
    } catch (err) {
      this.#error.value = err instanceof Error ? err.message : String(err);
    }
  }

  async #act(deviceId: string, run: (client: MatrixClient) => Promise<void>): Promise<void> {
    const client = this.#app.session.client;
    if (!client || this.#action.value?.state === "busy") return;
    this.#action.value = { deviceId, state: "busy" };
    try {
      await run(client);
      this.#action.value = null;
    } catch (err) {
      this.#action.value = err instanceof PasswordCancelled
        ? null
        : { deviceId, state: "failed", message: err instanceof Error ? err.message : String(err) };
    }
    await this.load(client);
  }

  /** Renames a device. */
  rename(deviceId: string, name: string): Promise<void> {
    return this.#act(deviceId, async (client) => {
      await client.setDeviceDetails(deviceId, { display_name: name.trim() });
    });
  }

  /** Signs another device out (the server asks for the password). */
  signOut(deviceId: string): Promise<void> {
    return this.#act(deviceId, async (client) => {
      const userId = client.getSafeUserId();
      await this.#password.run(userId, async (auth) => {
        await client.deleteDevice(deviceId, auth ?? undefined);
      }, { homeserverUrl: client.getHomeserverUrl() });
    });
  }

  /** Starts an emoji verification with one of the account's other devices. */
  verify(deviceId: string): Promise<void> {
    return this.#act(deviceId, async () => {
      await verificationModel(this.#app).startDevice(deviceId);
    });
  }
}
