/**
 * Secure messaging for the signed-in account: cross-signing, secret storage with a recovery key,
 * and the server-side key backup, through matrix-js-sdk's CryptoApi (Rust crypto).
 *
 * One flow sets everything up: cross-signing keys (the server may ask for the password),
 * a new secret-storage key shown once as the recovery key, and a new key backup. On a new device
 * the recovery key brings the cross-signing secrets and the backup key back (this device is then
 * cross-signed) and restores the backed-up room keys, so earlier messages decrypt.
 *
 * The recovery key only lives in memory (`session.secretStorageKeys`) while a flow runs.
 *
 * @module
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals";
import type { AuthDict, MatrixClient, MatrixEvent } from "matrix-js-sdk";
import type { GeneratedSecretStorageKey } from "matrix-js-sdk/lib/crypto-api/index.js";
import type { MessageKey } from "../i18n/index.ts";
import { type CryptoApiModule, loadCryptoApi } from "../matrix/crypto_api.ts";
import { loadSdk } from "../matrix/sdk.ts";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import { DeviceList } from "./security_devices.ts";
import { SecurityPrefs } from "./security_prefs.ts";
import { ShieldTracker } from "./security_shields.ts";
import { verificationModel } from "./verification.ts";
import { PasswordCancelled, PasswordPrompt } from "./security_password.ts";

/** What this device and the account have of secure messaging. */
export interface SecurityStatus {
  /** This device holds the cross-signing keys and trusts them. */
  crossSigningReady: boolean;
  /** The account has cross-signing keys on the server (maybe made elsewhere). */
  accountHasCrossSigning: boolean;
  /** The account has a default secret-storage key (a recovery key exists). */
  accountHasSecretStorage: boolean;
  /** Secret storage holds every secret this device would put there. */
  secretStorageReady: boolean;
  /** The backup this device uploads room keys to, if any. */
  backupVersion: string | null;
  /** The newest backup on the server, if any. */
  serverBackupVersion: string | null;
  /** This device is cross-signed by a trusted identity. */
  thisDeviceVerified: boolean;
}

/** What the settings offer, from the status. */
export type SecurityMode = "unavailable" | "checking" | "setUp" | "restore" | "ready";

/** The set-up flow. */
export type SetupState =
  | { step: "idle" }
  | { step: "working" }
  | { step: "showKey"; recoveryKey: string }
  | { step: "done" }
  | { step: "failed"; message: string };

/** The recovery-key flow on a device that is not verified yet. */
export type RestoreState =
  | { step: "idle" }
  | { step: "enterKey"; problem: MessageKey | null }
  | { step: "working" }
  | { step: "done"; imported: number }
  | { step: "failed"; message: string };

/** Why a security operation stopped. */
export class SecurityError extends Error {
  constructor(readonly code: "noCrypto" | "noClient", message?: string) {
    super(message ?? code);
    this.name = "SecurityError";
  }
}

/** The text of an error, for "failed: {message}" lines. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The security feature's model. */
export class SecurityModel {
  readonly #app: AppModel;
  readonly #status = signal<SecurityStatus | null>(null);
  readonly #setup = signal<SetupState>({ step: "idle" });
  readonly #resetAsked = signal(false);
  readonly #restore = signal<RestoreState>({ step: "idle" });
  #client: MatrixClient | null = null;
  #detach: (() => void) | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;

  /** Asks for the account password when the server wants user-interactive auth. */
  readonly password = new PasswordPrompt();
  /** The account's devices. */
  readonly devices: DeviceList;
  /** The warning about unverified senders, and "not now" for the set-up prompt. */
  readonly prefs = new SecurityPrefs();
  /** Marks on timeline messages. */
  readonly shields: ShieldTracker;
  /** The status; null while it is being read for the first time. */
  readonly status: ReadonlySignal<SecurityStatus | null> = computed(() => this.#status.value);
  readonly setup: ReadonlySignal<SetupState> = computed(() => this.#setup.value);
  /** The reset confirmation is open. */
  readonly resetAsked: ReadonlySignal<boolean> = computed(() => this.#resetAsked.value);
  readonly restore: ReadonlySignal<RestoreState> = computed(() => this.#restore.value);
  /** What to offer. */
  readonly mode: ReadonlySignal<SecurityMode>;

  constructor(app: AppModel) {
    this.#app = app;
    this.devices = new DeviceList(app, this.password);
    this.shields = new ShieldTracker(app, () => this.prefs.warnUnverified.peek());
    this.mode = computed(() => {
      const crypto = app.session.crypto.value;
      if (crypto === "starting") return "checking";
      if (crypto !== "ready") return "unavailable";
      const status = this.#status.value;
      if (!status) return "checking";
      if (status.accountHasCrossSigning && !status.crossSigningReady) return "restore";
      if (!status.crossSigningReady || !status.secretStorageReady || !status.backupVersion) {
        return "setUp";
      }
      return "ready";
    });
    // The warning setting moves the marks as trust does.
    effect(() => {
      void this.prefs.warnUnverified.value;
      this.shields.trustChanged();
    });
    effect(() => {
      const client = app.session.clientReady.value;
      if (client !== this.#client) this.#attach(client);
    });
    // A finished verification changes trust: the crypto's own trust events do not always
    // follow a local verification at once.
    effect(() => {
      if (verificationModel(app).view.value?.step !== "done") return;
      this.shields.trustChanged();
      this.#scheduleRefresh();
    });
  }

  #attach(client: MatrixClient | null): void {
    this.#detach?.();
    this.#detach = null;
    this.#client = client;
    this.#status.value = null;
    this.#setup.value = { step: "idle" };
    this.#restore.value = { step: "idle" };
    this.prefs.attach(client);
    if (!client) return;
    let live = true;
    const me = client.getUserId();
    const refresh = () => this.#scheduleRefresh();
    // Others' trust changes only move the marks on messages; the own account's also the status.
    const onTrust = (userId: string) => {
      this.shields.trustChanged();
      if (userId === me) refresh();
    };
    const onDevices = (userIds: string[]) => {
      this.shields.trustChanged();
      if (userIds.includes(me ?? "")) refresh();
    };
    const onAccountData = (event: MatrixEvent) => {
      this.prefs.accountData(event);
      if (/^m\.(cross_signing|secret_storage|megolm_backup)\./.test(event.getType())) refresh();
    };
    void Promise.all([loadSdk(), loadCryptoApi()]).then(([sdk, api]) => {
      if (!live) return;
      const { CryptoEvent } = api;
      const own = [
        CryptoEvent.KeysChanged,
        CryptoEvent.KeyBackupStatus,
        CryptoEvent.KeyBackupDecryptionKeyCached,
      ] as const;
      for (const name of own) client.on(name, refresh);
      client.on(CryptoEvent.UserTrustStatusChanged, onTrust);
      client.on(CryptoEvent.DevicesUpdated, onDevices);
      client.on(sdk.ClientEvent.AccountData, onAccountData);
      this.#detach = () => {
        live = false;
        for (const name of own) client.off(name, refresh);
        client.off(CryptoEvent.UserTrustStatusChanged, onTrust);
        client.off(CryptoEvent.DevicesUpdated, onDevices);
        client.off(sdk.ClientEvent.AccountData, onAccountData);
      };
      void this.refresh();
    });
    this.#detach = () => live = false;
  }

  #scheduleRefresh(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.refresh(), 150);
  }

  /** Reads the status again (and the devices); calls that overlap run once more afterwards. */
  refresh(): Promise<void> {
    // While keys are being made, a status read would download the account's keys from the
    // server: an answer that still holds the old identity, arriving after a reset made the new
    // one, makes the crypto drop the new private keys. The set-up refreshes when it is done.
    if (this.#setup.value.step === "working") return Promise.resolve();
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        const client = this.#client;
        if (!client?.getCrypto()) return;
        try {
          const status = await readStatus(client);
          if (client === this.#client) this.#status.value = status;
        } catch (err) {
          console.warn("gemeng: could not read the encryption status", err);
        }
        this.shields.trustChanged();
        if (this.devices.watched) await this.devices.load(client);
      } while (this.#refreshAgain);
    })().finally(() => this.#refreshing = null);
    return this.#refreshing;
  }

  #crypto() {
    const client = this.#client;
    if (!client) throw new SecurityError("noClient");
    const crypto = client.getCrypto();
    if (!crypto) throw new SecurityError("noCrypto");
    return { client, crypto };
  }

  /**
   * Sets up secure messaging: cross-signing (asking for the password when the server wants
   * it), a new recovery key, and a new key backup. Shows the recovery key when done. With
   * `reset`, new cross-signing keys replace the account's existing ones (the way out when the
   * recovery key is lost and no other device can verify this one).
   */
  async setUp(options: { reset?: boolean } = {}): Promise<void> {
    if (this.#setup.value.step === "working") return;
    this.#resetAsked.value = false;
    this.#setup.value = { step: "working" };
    const session = this.#app.session;
    try {
      await this.#refreshing?.catch(() => {}); // a key download already under way ends first
      const { client, crypto } = this.#crypto();
      const userId = client.getSafeUserId();
      const authUploadDeviceSigningKeys = <T>(makeRequest: (auth: AuthDict | null) => Promise<T>) =>
        this.password.run(userId, makeRequest, { homeserverUrl: client.getHomeserverUrl() });
      if (options.reset) {
        // Old backups and secret storage go, new cross-signing keys and a new backup come;
        // the new recovery key follows below.
        await crypto.resetEncryption(authUploadDeviceSigningKeys);
      } else if (!(await crypto.isCrossSigningReady())) {
        // Only when needed: bootstrapping reads the secrets of an existing secret storage, whose
        // key this flow does not have (a new recovery key replacing one that was never saved).
        await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys });
      }
      let generated: GeneratedSecretStorageKey | null = null;
      await crypto.bootstrapSecretStorage({
        setupNewSecretStorage: true,
        setupNewKeyBackup: !options.reset,
        createSecretStorageKey: async () =>
          generated = await crypto.createRecoveryKeyFromPassphrase(),
      });
      const recoveryKey = (generated as GeneratedSecretStorageKey | null)?.encodedPrivateKey;
      if (!recoveryKey) throw new Error("no recovery key was made");
      this.#setup.value = { step: "showKey", recoveryKey };
      this.prefs.keyUnsaved(userId, true);
    } catch (err) {
      this.#setup.value = err instanceof PasswordCancelled
        ? { step: "idle" }
        : { step: "failed", message: errorText(err) };
    } finally {
      session.secretStorageKeys.clear();
      void this.refresh();
    }
  }

  /** Asks to confirm a reset of secure messaging. */
  askReset(): void {
    if (this.#setup.value.step !== "working") this.#resetAsked.value = true;
  }

  /** Closes the reset confirmation. */
  cancelReset(): void {
    this.#resetAsked.value = false;
  }

  /** The user saved the recovery key: forget it here. */
  confirmRecoveryKeySaved(): void {
    if (this.#setup.value.step !== "showKey") return;
    this.#setup.value = { step: "done" };
    this.prefs.keyUnsaved(this.#client?.getUserId() ?? "", false);
  }

  /** Opens the recovery-key form. */
  openRestore(): void {
    this.#restore.value = { step: "enterKey", problem: null };
  }

  /** Closes the recovery-key form (not while it works). */
  closeRestore(): void {
    if (this.#restore.value.step !== "working") this.#restore.value = { step: "idle" };
  }

  /**
   * Restores with the recovery key: checks it against the account's secret-storage key, takes
   * the cross-signing keys from secret storage (cross-signing this device), then the backup key,
   * and restores the backed-up room keys.
   */
  async restoreWithKey(text: string): Promise<void> {
    if (this.#restore.value.step === "working") return;
    const session = this.#app.session;
    let api: CryptoApiModule;
    let client: MatrixClient;
    try {
      ({ client } = this.#crypto());
      api = await loadCryptoApi();
    } catch (err) {
      this.#restore.value = { step: "failed", message: errorText(err) };
      return;
    }
    let key: Uint8Array<ArrayBuffer>;
    try {
      key = api.decodeRecoveryKey(text.trim());
    } catch {
      this.#restore.value = { step: "enterKey", problem: "security.badRecoveryKey" };
      return;
    }
    this.#restore.value = { step: "working" };
    try {
      const found = await client.secretStorage.getKey();
      if (!found) {
        this.#restore.value = { step: "enterKey", problem: "security.noSecretStorage" };
        return;
      }
      const [keyId, keyInfo] = found;
      if (!(await client.secretStorage.checkKey(key, keyInfo))) {
        this.#restore.value = { step: "enterKey", problem: "security.wrongRecoveryKey" };
        return;
      }
      session.secretStorageKeys.set(keyId, key);
      const { crypto } = this.#crypto();
      const userId = client.getSafeUserId();
      await crypto.bootstrapCrossSigning({
        authUploadDeviceSigningKeys: (makeRequest) =>
          this.password.run(userId, makeRequest, { homeserverUrl: client.getHomeserverUrl() }),
      });
      let imported = 0;
      if (await crypto.getKeyBackupInfo()) {
        await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
        await crypto.checkKeyBackupAndEnable();
        imported = (await crypto.restoreKeyBackup()).imported;
      }
      this.#restore.value = { step: "done", imported };
    } catch (err) {
      this.#restore.value = err instanceof PasswordCancelled
        ? { step: "enterKey", problem: null }
        : { step: "failed", message: errorText(err) };
    } finally {
      session.secretStorageKeys.clear();
      void this.refresh();
    }
  }
}

async function readStatus(client: MatrixClient): Promise<SecurityStatus> {
  const crypto = client.getCrypto()!;
  const userId = client.getSafeUserId();
  const deviceId = client.getDeviceId() ?? "";
  const [ready, hasKeys, storage, hasKey, backup, serverBackup, device] = await Promise.all([
    crypto.isCrossSigningReady(),
    crypto.userHasCrossSigningKeys(userId, true),
    crypto.getSecretStorageStatus(),
    client.secretStorage.hasKey(),
    crypto.getActiveSessionBackupVersion(),
    crypto.getKeyBackupInfo().catch(() => null),
    crypto.getDeviceVerificationStatus(userId, deviceId),
  ]);
  return {
    crossSigningReady: ready,
    accountHasCrossSigning: hasKeys,
    accountHasSecretStorage: hasKey,
    secretStorageReady: storage.ready,
    backupVersion: backup,
    serverBackupVersion: serverBackup?.version ?? null,
    thisDeviceVerified: device?.crossSigningVerified ?? false,
  };
}

/** The app's security model. */
export function securityModel(app: AppModel): SecurityModel {
  return featureModel(app, "security", (app) => new SecurityModel(app));
}
