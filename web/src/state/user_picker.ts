/**
 * Finding people to talk to: a search over the server's user directory (spec: "User
 * Directory"), plus the person a typed full Matrix ID names (on this server or another one),
 * and the people chosen so far. The start-chat, new-group and invite dialogs share it.
 *
 * @module
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals";
import type { MatrixClient } from "matrix-js-sdk";
import { serverNameOf } from "../matrix/identifiers.ts";

/** A person the picker offers or holds. */
export interface PickedUser {
  userId: string;
  /** Display name from the directory or profile; null when they have none. */
  displayName: string | null;
}

/** How long typing must pause before the directory is asked. */
const SEARCH_DELAY_MS = 300;
const RESULT_LIMIT = 10;

/** A well-formed user ID (`@localpart:server`), such as someone on another server. */
export function isUserId(text: string): boolean {
  const server = serverNameOf(text);
  return server !== null && /^@[^\s:]+:/.test(text);
}

/**
 * Whether a typed user ID looks finished, so its profile is worth asking for: the server part
 * is `localhost`, an IP address, has a port, or is a DNS name with a top-level domain of two
 * letters or more. `@ben:l` or `@ben:example.c` (on the way to a longer name) do not.
 */
export function isCompleteUserId(text: string): boolean {
  if (!isUserId(text)) return false;
  const server = serverNameOf(text)!;
  if (/:\d{1,5}$/.test(server) || server.startsWith("[")) return true;
  const host = server.toLowerCase();
  if (host === "localhost" || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return true;
  return /^([a-z0-9-]+\.)+[a-z][a-z0-9-]*[a-z0-9]$/.test(host) && !host.endsWith("-");
}

/** The picker's state. */
export type PickerStatus = "idle" | "searching" | "done" | "failed";

/** The user picker model. */
export class UserPicker {
  readonly #client: MatrixClient;
  readonly #query = signal("");
  readonly #results = signal<readonly PickedUser[]>([]);
  readonly #status = signal<PickerStatus>("idle");
  readonly #chosen = signal<readonly PickedUser[]>([]);
  readonly #exclude: ReadonlySet<string>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sequence = 0;

  /** The search text. */
  readonly query: ReadonlySignal<string> = computed(() => this.#query.value);
  /** People matching the search, without those already chosen or excluded. */
  readonly results: ReadonlySignal<readonly PickedUser[]> = computed(() => {
    const chosen = new Set(this.#chosen.value.map((user) => user.userId));
    return this.#results.value.filter((user) => !chosen.has(user.userId));
  });
  /** Where the search is. */
  readonly status: ReadonlySignal<PickerStatus> = computed(() => this.#status.value);
  /** The people chosen (for groups and invitations). */
  readonly chosen: ReadonlySignal<readonly PickedUser[]> = computed(() => this.#chosen.value);

  /** `exclude`: user IDs never offered (the user, members already in the room). */
  constructor(client: MatrixClient, options: { exclude?: Iterable<string> } = {}) {
    this.#client = client;
    const exclude = new Set(options.exclude ?? []);
    const me = client.getUserId();
    if (me) exclude.add(me);
    this.#exclude = exclude;
  }

  /** Sets the search text; the directory is asked once typing pauses. */
  search(query: string): void {
    this.#query.value = query;
    clearTimeout(this.#timer);
    const term = query.trim();
    const sequence = ++this.#sequence;
    if (term === "") {
      this.#results.value = [];
      this.#status.value = "idle";
      return;
    }
    this.#status.value = "searching";
    this.#timer = setTimeout(() => void this.#run(term, sequence), SEARCH_DELAY_MS);
  }

  async #run(term: string, sequence: number): Promise<void> {
    let found: PickedUser[] = [];
    let failed = false;
    try {
      const answer = await this.#client.searchUserDirectory({ term, limit: RESULT_LIMIT });
      found = answer.results.map((result) => ({
        userId: result.user_id,
        displayName: result.display_name?.trim() || null,
      }));
    } catch (err) {
      console.warn("gemeng: the user directory did not answer", err);
      failed = true;
    }
    // A full Matrix ID is offered even when the directory does not know it (another server);
    // its profile is asked for only once the ID looks finished, not for every partial server name.
    if (isUserId(term) && !found.some((user) => user.userId === term)) {
      const displayName = isCompleteUserId(term) ? await this.#profileName(term) : null;
      found.unshift({ userId: term, displayName });
    }
    if (sequence !== this.#sequence) return; // a newer search is under way
    this.#results.value = found.filter((user) => !this.#exclude.has(user.userId));
    this.#status.value = failed && found.length === 0 ? "failed" : "done";
  }

  async #profileName(userId: string): Promise<string | null> {
    try {
      const profile = await this.#client.getProfileInfo(userId, "displayname");
      return profile.displayname?.trim() || null;
    } catch {
      return null; // unknown or unreachable: the ID alone still works for an invitation
    }
  }

  /** Adds a person to the chosen ones and clears the search. */
  choose(user: PickedUser): void {
    if (!this.#chosen.value.some((u) => u.userId === user.userId)) {
      this.#chosen.value = [...this.#chosen.value, user];
    }
    this.search("");
  }

  /** Removes a chosen person. */
  unchoose(userId: string): void {
    this.#chosen.value = this.#chosen.value.filter((user) => user.userId !== userId);
  }

  /** Stops a pending search. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#sequence++;
  }
}

/** How a person is named: display name, else the user ID. */
export function userLabel(user: PickedUser): string {
  return user.displayName ?? user.userId;
}
