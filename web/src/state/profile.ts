/**
 * The user's own profile in the settings: the display name and the picture (an uploaded image
 * whose `mxc://` URL becomes `avatar_url`). The server copies both into the member events of
 * every joined room, which is where the timeline, the member list and the room list read them.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { AppModel } from "./app.ts";
import { featureModel } from "./features.ts";
import { FormTask } from "./account.ts";

/** The longest display name the form sends (the server has its own limit too). */
export const MAX_DISPLAY_NAME = 256;

/** Pictures the form accepts: what browsers show in an `<img>`. */
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/webp", "image/gif"]);

/** What the last successful action was, for the status line. */
export type ProfileNotice = "nameSaved" | "pictureSaved" | null;

/** The user's display name and picture, loaded from the server and edited in the settings. */
export class ProfileModel {
  readonly #app: AppModel;
  readonly #avatarUrl = signal<string | null>(null);
  readonly #notice = signal<ProfileNotice>(null);
  readonly #loadedFor = signal<string | null>(null);
  readonly #loaded = signal(false);
  /** The name in the form (the saved one until the user types). */
  readonly name = signal("");
  /** The saved picture's `mxc://` URL. */
  readonly avatarUrl: ReadonlySignal<string | null> = computed(() => this.#avatarUrl.value);
  /** What just succeeded. */
  readonly notice: ReadonlySignal<ProfileNotice> = computed(() => this.#notice.value);
  /** The saved profile has been read (or could not be): the form may be edited. */
  readonly loaded: ReadonlySignal<boolean> = computed(() => this.#loaded.value);
  /** Loading, saving the name. */
  readonly nameTask = new FormTask();
  /** Uploading or removing the picture. */
  readonly pictureTask = new FormTask();

  constructor(app: AppModel) {
    this.#app = app;
  }

  /** Reads the profile from the server, once per signed-in user. */
  async load(): Promise<void> {
    const client = this.#app.session.clientReady.value;
    const userId = this.#app.session.userId.value;
    if (!client || !userId || this.#loadedFor.value === userId) return;
    this.#loadedFor.value = userId;
    this.#loaded.value = false;
    await this.nameTask.run(async () => {
      try {
        const profile = await client.getProfileInfo(userId);
        this.name.value = profile.displayname ?? "";
        this.#avatarUrl.value = mxcOrNull(profile.avatar_url);
      } catch (err) {
        // A new account has no profile fields yet: nothing to show, nothing wrong.
        if ((err as { errcode?: string })?.errcode !== "M_NOT_FOUND") throw err;
      }
    });
    this.#loaded.value = true;
  }

  /** Saves the display name in the form. */
  async saveName(): Promise<void> {
    const client = this.#app.session.clientReady.value;
    const name = this.name.value.trim().slice(0, MAX_DISPLAY_NAME);
    if (!client) return;
    this.#notice.value = null;
    const ok = await this.nameTask.run(() => client.setDisplayName(name).then(() => {}));
    if (ok) {
      this.name.value = name;
      this.#notice.value = "nameSaved";
    }
  }

  /** Uploads `file` and makes it the profile picture. */
  async setPicture(file: File): Promise<void> {
    const client = this.#app.session.clientReady.value;
    if (!client) return;
    this.#notice.value = null;
    if (!IMAGE_TYPES.has(file.type)) return this.pictureTask.fail("account.pictureNotImage");
    const ok = await this.pictureTask.run(async () => {
      const { content_uri: url } = await client.uploadContent(file, {
        type: file.type,
        name: file.name,
      });
      await client.setAvatarUrl(url);
      this.#avatarUrl.value = url;
    });
    if (ok) this.#notice.value = "pictureSaved";
  }

  /** Removes the profile picture. */
  async removePicture(): Promise<void> {
    const client = this.#app.session.clientReady.value;
    if (!client) return;
    this.#notice.value = null;
    const ok = await this.pictureTask.run(async () => {
      await client.setAvatarUrl("");
      this.#avatarUrl.value = null;
    });
    if (ok) this.#notice.value = "pictureSaved";
  }
}

function mxcOrNull(value: unknown): string | null {
  return typeof value === "string" && value.startsWith("mxc://") ? value : null;
}

/** The app's profile model, made on first use. */
export function profileModel(app: AppModel): ProfileModel {
  return featureModel(app, "profile", (a) => new ProfileModel(a));
}
