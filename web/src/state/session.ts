/**
 * The session: who is signed in, the matrix-js-sdk client that works for them, and the
 * state of its sync loop and of end-to-end encryption, all as signals.
 *
 * Persist first, then act: a new session is written to storage before the client starts, and
 * signing out forgets it (and this device's stores) even when the server cannot be reached.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import type { Credentials } from "../matrix/auth.ts";
import { loadSdk, type Sdk } from "../matrix/sdk.ts";
import { RoomList } from "./room_list.ts";
import type { KeyValueStorage } from "./storage.ts";

/** Where the session is in its life. */
export type SessionStatus = "restoring" | "signedOut" | "signedIn";

/** The sync loop as the UI shows it. */
export type SyncStatus = "idle" | "connecting" | "live" | "offline" | "error";

/** End-to-end encryption on this device. */
export type CryptoStatus = "off" | "starting" | "ready" | "failed";

const STORAGE_KEY = "gemeng.session";
/** IndexedDB name of the sync cache (rooms and timelines kept for offline start). */
const SYNC_DB = "gemeng-sync";
/** Prefix of the Rust crypto store's IndexedDB databases. */
const CRYPTO_DB_PREFIX = "gemeng-crypto";

function readCredentials(storage: KeyValueStorage): Credentials | null {
  const raw = storage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw);
    const fields = ["homeserverUrl", "userId", "deviceId", "accessToken"] as const;
    if (fields.every((field) => typeof value?.[field] === "string")) return value as Credentials;
  } catch { /* a damaged entry is treated as no session */ }
  return null;
}

/** Options for {@link Session}. */
export interface SessionOptions {
  storage: KeyValueStorage;
  /** IndexedDB for the sync cache and the crypto store (absent: memory only, no crypto). */
  indexedDB?: IDBFactory;
  /** localStorage-like storage the SDK's IndexedDB store uses for its bookkeeping. */
  sdkLocalStorage?: Storage;
}

/** The session model. */
export class Session {
  readonly #status = signal<SessionStatus>("restoring");
  readonly #credentials = signal<Credentials | null>(null);
  readonly #sync = signal<SyncStatus>("idle");
  readonly #crypto = signal<CryptoStatus>("off");
  readonly #cryptoError = signal<string | null>(null);
  readonly #signingOut = signal(false);
  readonly #options: SessionOptions;
  #client: MatrixClient | null = null;
  readonly #clientSignal = signal<MatrixClient | null>(null);
  #stopped = false;
  #started: Promise<void> = Promise.resolve();
  #unwatchNetwork: () => void = () => {};

  /** Signed in, signed out, or still reading storage. */
  readonly status: ReadonlySignal<SessionStatus> = computed(() => this.#status.value);
  /** The signed-in user's Matrix ID. */
  readonly userId: ReadonlySignal<string | null> = computed(() =>
    this.#credentials.value?.userId ?? null
  );
  /** The sync loop. */
  readonly sync: ReadonlySignal<SyncStatus> = computed(() => this.#sync.value);
  /** Encryption on this device, and why it failed. */
  readonly crypto: ReadonlySignal<CryptoStatus> = computed(() => this.#crypto.value);
  readonly cryptoError: ReadonlySignal<string | null> = computed(() => this.#cryptoError.value);
  /** A sign-out is under way. */
  readonly signingOut: ReadonlySignal<boolean> = computed(() => this.#signingOut.value);
  /** The user's rooms, fed by sync. */
  readonly rooms = new RoomList();
  /**
   * Secret-storage keys (the recovery key) this tab holds while the security settings set up or
   * restore secure messaging, by key ID; the crypto reads them through `cryptoCallbacks`.
   */
  readonly secretStorageKeys: Map<string, Uint8Array<ArrayBuffer>> = new Map();

  constructor(options: SessionOptions) {
    this.#options = options;
  }

  /** The client, once the session has started (later slices use it for rooms and calls). */
  get client(): MatrixClient | null {
    return this.#client;
  }

  /**
   * The client as a signal: set once it exists (before sync starts, after crypto is set up),
   * null when signed out. Feature models attach to it with an effect.
   */
  readonly clientReady: ReadonlySignal<MatrixClient | null> = computed(() =>
    this.#clientSignal.value
  );

  /** Resumes the session kept in storage, if any (the client starts in the background). */
  restore(): void {
    const saved = readCredentials(this.#options.storage);
    if (!saved) {
      this.#status.value = "signedOut";
      return;
    }
    this.#credentials.value = saved;
    this.#status.value = "signedIn";
    this.#started = this.#start(saved);
  }

  /**
   * Begins a session with new credentials (after sign-in or sign-up): stores them, then starts
   * the client in the background ({@link started} settles when it is running).
   */
  begin(credentials: Credentials): void {
    this.#options.storage.setItem(STORAGE_KEY, JSON.stringify(credentials));
    this.#credentials.value = credentials;
    this.#status.value = "signedIn";
    this.#started = this.#start(credentials);
  }

  /** Settles when the client of the current session has started (or failed to). */
  get started(): Promise<void> {
    return this.#started;
  }

  #start(credentials: Credentials): Promise<void> {
    this.#stopped = false;
    return this.#run(credentials).catch((err) => {
      console.warn("gemeng: the session could not start", err);
      this.#sync.value = "error";
    });
  }

  async #run(credentials: Credentials): Promise<void> {
    this.#sync.value = "connecting";
    let sdk: Sdk;
    try {
      sdk = await loadSdk();
    } catch {
      // Offline without the SDK in any cache: the shell still shows; a reload retries.
      this.#sync.value = "offline";
      return;
    }
    if (this.#stopped) return;
    const store = await this.#syncStore(sdk, credentials.userId);
    if (this.#stopped) return;
    const client = sdk.createClient({
      baseUrl: credentials.homeserverUrl,
      userId: credentials.userId,
      deviceId: credentials.deviceId,
      accessToken: credentials.accessToken,
      store,
      timelineSupport: true,
      cryptoCallbacks: {
        getSecretStorageKey: ({ keys }) => {
          const keyId = Object.keys(keys).find((id) => this.secretStorageKeys.has(id));
          return Promise.resolve(keyId ? [keyId, this.secretStorageKeys.get(keyId)!] : null);
        },
        cacheSecretStorageKey: (keyId, _info, key) => void this.secretStorageKeys.set(keyId, key),
      },
    });
    this.#client = client;
    if (store) {
      try {
        await store.startup(); // loads the cached rooms, so they show before (or without) sync
      } catch (err) {
        console.warn("gemeng: the sync cache did not open", err);
      }
      if (this.#stopped) return;
    }
    client.on(sdk.ClientEvent.Sync, (state) => {
      this.#sync.value = syncStatus(sdk, state);
    });
    this.#watchNetwork(client);
    client.on(sdk.HttpApiEvent.SessionLoggedOut, () => {
      // The server no longer knows this device: forget the session here too.
      void this.#forget();
    });
    this.rooms.attach(sdk, client);
    await this.#startCrypto(client);
    if (this.#stopped) return;
    this.#clientSignal.value = client;
    try {
      await client.startClient({
        initialSyncLimit: 20,
        lazyLoadMembers: true,
        threadSupport: true,
      });
    } catch (err) {
      console.warn("gemeng: the client could not start", err);
      this.#sync.value = "error";
    }
  }

  /** The sync cache, not yet started (the SDK wants it started after the client exists). */
  async #syncStore(sdk: Sdk, userId: string) {
    const indexedDB = this.#options.indexedDB;
    if (!indexedDB) return undefined;
    const open = () =>
      new sdk.IndexedDBStore({
        indexedDB,
        dbName: SYNC_DB,
        localStorage: this.#options.sdkLocalStorage,
      });
    try {
      // A cache left by another account must not show here: drop it before opening.
      const ownerKey = `${STORAGE_KEY}.syncOwner`;
      if (this.#options.storage.getItem(ownerKey) !== userId) {
        await open().deleteAllData();
        this.#options.storage.setItem(ownerKey, userId);
      }
      return open();
    } catch (err) {
      console.warn("gemeng: no sync cache on this device", err);
      return undefined;
    }
  }

  async #startCrypto(client: MatrixClient): Promise<void> {
    if (!this.#options.indexedDB) return;
    this.#crypto.value = "starting";
    try {
      await client.initRustCrypto({ cryptoDatabasePrefix: CRYPTO_DB_PREFIX });
      this.#crypto.value = "ready";
      this.#cryptoError.value = null;
    } catch (err) {
      console.warn("gemeng: encryption did not start", err);
      this.#crypto.value = "failed";
      this.#cryptoError.value = err instanceof Error ? err.message : String(err);
    }
  }

  /**
   * Writes the sync cache now (the SDK otherwise writes it at most every few minutes); the app
   * calls this when the page is hidden, so what was on screen is there offline next time.
   */
  persist(): void {
    this.#client?.store.save(true).catch((err) => {
      console.warn("gemeng: could not save the sync cache", err);
    });
  }

  /**
   * Signs out: tells the server (best effort, so signing out works offline), then forgets the
   * session and this device's stores.
   */
  async signOut(): Promise<void> {
    if (this.#signingOut.value) return;
    this.#signingOut.value = true;
    try {
      // Let a start that is still opening the crypto store finish first: deleting the store
      // under it breaks its migration. Bounded, so a stuck start cannot block signing out.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#started,
        new Promise((resolve) => timer = setTimeout(resolve, 10_000)),
      ]);
      clearTimeout(timer);
      const client = this.#client;
      if (client) {
        quietTeardown(); // logout(true) stops the client first
        try {
          await client.logout(true);
        } catch (err) {
          console.warn("gemeng: the server did not confirm the sign-out", err);
        }
      }
      await this.#forget();
    } finally {
      this.#signingOut.value = false;
    }
  }

  /**
   * The browser knows at once when the network goes: say so without waiting for the long-poll
   * to time out, and sync again the moment it is back.
   */
  #watchNetwork(client: MatrixClient): void {
    const target = globalThis as { addEventListener?: typeof addEventListener };
    if (typeof target.addEventListener !== "function") return;
    const onOffline = () => {
      if (this.#client === client) this.#sync.value = "offline";
    };
    const onOnline = () => {
      if (this.#client !== client) return;
      this.#sync.value = "connecting";
      client.retryImmediately();
    };
    addEventListener("offline", onOffline);
    addEventListener("online", onOnline);
    this.#unwatchNetwork = () => {
      removeEventListener("offline", onOffline);
      removeEventListener("online", onOnline);
    };
  }

  async #forget(): Promise<void> {
    this.#stopped = true;
    this.#unwatchNetwork();
    this.#unwatchNetwork = () => {};
    this.#options.storage.removeItem(STORAGE_KEY);
    this.#options.storage.removeItem(`${STORAGE_KEY}.syncOwner`);
    const client = this.#client;
    this.#client = null;
    this.#clientSignal.value = null;
    this.secretStorageKeys.clear();
    this.rooms.detach();
    this.#credentials.value = null;
    this.#sync.value = "idle";
    this.#crypto.value = "off";
    this.#status.value = "signedOut";
    if (client) {
      quietTeardown();
      client.stopClient();
      try {
        await client.clearStores({ cryptoDatabasePrefix: CRYPTO_DB_PREFIX });
      } catch (err) {
        console.warn("gemeng: could not clear this device's stores", err);
      }
    }
  }
}

/**
 * Work the SDK had in flight when its client stopped fails as it unwinds: its crypto machine
 * is freed under it ("null pointer passed to rust") and its requests are aborted ("signal is
 * aborted without reason"). Nothing is lost (the session is being forgotten), so for a few
 * seconds after a stop those two rejections are not reported as page errors.
 */
function quietTeardown(): void {
  const target = globalThis as { addEventListener?: typeof addEventListener };
  if (typeof target.addEventListener !== "function") return;
  const expected = /null pointer passed to rust|signal is aborted without reason/;
  const onRejection = (event: PromiseRejectionEvent) => {
    const reason = event.reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    if (!expected.test(message)) return;
    event.preventDefault();
    console.debug("gemeng: ignored after sign-out:", message);
  };
  addEventListener("unhandledrejection", onRejection);
  setTimeout(() => removeEventListener("unhandledrejection", onRejection), 10_000);
}

function syncStatus(sdk: Sdk, state: string): SyncStatus {
  switch (state) {
    case sdk.SyncState.Prepared:
    case sdk.SyncState.Syncing:
    case sdk.SyncState.Catchup:
      return "live";
    case sdk.SyncState.Reconnecting:
      return navigator.onLine === false ? "offline" : "error";
    case sdk.SyncState.Error:
      return navigator.onLine === false ? "offline" : "error";
    case sdk.SyncState.Stopped:
      return "idle";
    default:
      return "connecting";
  }
}
