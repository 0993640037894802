/**
 * A room's files, newest first, for the files panel: images and videos, documents and audio.
 * They are read with `GET /rooms/{roomId}/messages` pages of their own, apart from the
 * timeline's, so opening the panel does not move the timeline. In an unencrypted room the
 * server's filter (`types`, `contains_url`) leaves only messages that carry a file; in an
 * encrypted room the server cannot see which messages do, so every `m.room.encrypted` event is
 * fetched, decrypted here and kept when it turns out to be a file message.
 *
 * New file messages are added as they arrive while the panel is open. Loaded with the panel's chunk: it imports nothing at run time but signals.
 *
 * @module
 */

import { batch, signal } from "@preact/signals";
import type { IEvent, MatrixClient, MatrixEvent, Method, Room } from "matrix-js-sdk";

/** Which part of the panel a file goes to. */
export type FileGroup = "media" | "documents";

/** A file message of the room. */
export interface RoomFile {
  event: MatrixEvent;
  group: FileGroup;
}

const GROUPS: Readonly<Record<string, FileGroup>> = {
  "m.image": "media",
  "m.video": "media",
  "m.file": "documents",
  "m.audio": "documents",
};

/** Events asked for per page. */
const PAGE_SIZE = 50;
/** Pages read at most per {@link RoomFiles.loadOlder} call, so a long text-only history ends. */
const MAX_PAGES = 8;

/** The group of a file message, or null when the event is no (visible) file message. */
export function fileGroupOf(event: MatrixEvent): FileGroup | null {
  if (event.isRedacted() || event.isDecryptionFailure()) return null;
  if (event.getType() !== "m.room.message") return null;
  const content = event.getContent();
  const relation = content["m.relates_to"] as { rel_type?: string } | undefined;
  if (relation?.rel_type === "m.replace") return null;
  const group = GROUPS[content.msgtype as string];
  if (!group) return null;
  return typeof content.url === "string" || typeof content.file === "object" ? group : null;
}

/** The filter of the `/messages` requests (spec: RoomEventFilter). */
export function filesFilter(encrypted: boolean): Record<string, unknown> {
  return encrypted
    ? { types: ["m.room.message", "m.room.encrypted"], lazy_load_members: true }
    : { types: ["m.room.message"], contains_url: true, lazy_load_members: true };
}

interface MessagesPage {
  chunk: Partial<IEvent>[];
  end?: string;
}

/** A room's file messages, read backwards from the newest. */
export class RoomFiles {
  readonly client: MatrixClient;
  readonly room: Room;
  /** The files found so far, newest first. */
  readonly files = signal<readonly RoomFile[]>([]);
  readonly loading = signal(false);
  /** The last load failed. */
  readonly failed = signal(false);
  /** The start of the room's history was reached. */
  readonly complete = signal(false);
  #from: string | undefined;
  #seen = new Set<string>();

  constructor(client: MatrixClient, room: Room) {
    this.client = client;
    this.room = room;
  }

  /**
   * Adds the room's new file messages, newest first, as they arrive (one's own as soon as they
   * are sent). Returns the function that stops following.
   */
  follow(): () => void {
    const onTimeline = (
      event: MatrixEvent,
      _room: Room | undefined,
      toStart: boolean | undefined,
      removed: boolean,
      data: { liveEvent?: boolean },
    ) => {
      if (toStart || removed || !data.liveEvent) return;
      void this.#addLive(event);
    };
    // The SDK's event name enum is in its lazily loaded module: the string is the same.
    this.room.on("Room.timeline" as never, onTimeline as never);
    return () => void this.room.off("Room.timeline" as never, onTimeline as never);
  }

  async #addLive(event: MatrixEvent): Promise<void> {
    if (event.isEncrypted()) await this.client.decryptEventIfNeeded(event);
    const group = fileGroupOf(event);
    if (!group || this.files.value.some((file) => file.event === event)) return;
    // A local echo has no ID yet: it is the same object once sent, so it is not read twice.
    const id = event.getId();
    if (id && this.#seen.has(id)) return;
    if (id) this.#seen.add(id);
    this.files.value = [{ event, group }, ...this.files.value];
  }

  /**
   * Reads older pages until `wanted` more files were found, the history ends, or
   * {@link MAX_PAGES} pages were read.
   */
  async loadOlder(wanted = 24): Promise<void> {
    if (this.loading.value || this.complete.value) return;
    batch(() => {
      this.loading.value = true;
      this.failed.value = false;
    });
    const encrypted = this.room.hasEncryptionStateEvent();
    const filter = JSON.stringify(filesFilter(encrypted));
    const mapper = this.client.getEventMapper({ decrypt: false, preventReEmit: true });
    let found = 0;
    try {
      for (let page = 0; page < MAX_PAGES && found < wanted; page++) {
        const query: Record<string, string> = { dir: "b", limit: String(PAGE_SIZE), filter };
        if (this.#from) query.from = this.#from;
        const path = `/rooms/${encodeURIComponent(this.room.roomId)}/messages`;
        const body = await this.client.http.authedRequest<MessagesPage>(
          "GET" as Method,
          path,
          query,
        );
        const events = body.chunk.map((raw) => mapper({ ...raw, room_id: this.room.roomId }));
        await Promise.all(
          events.map((event) =>
            event.isEncrypted() ? this.client.decryptEventIfNeeded(event) : undefined
          ),
        );
        const fresh: RoomFile[] = [];
        for (const event of events) {
          const id = event.getId();
          const group = fileGroupOf(event);
          if (!id || !group || this.#seen.has(id)) continue;
          if (this.files.value.some((file) => file.event === event)) continue;
          this.#seen.add(id);
          fresh.push({ event, group });
        }
        found += fresh.length;
        const end = body.end && body.chunk.length > 0 ? body.end : undefined;
        batch(() => {
          if (fresh.length) this.files.value = [...this.files.value, ...fresh];
          if (!end) this.complete.value = true;
        });
        if (!end) break;
        this.#from = end;
      }
    } catch (err) {
      console.warn("gemeng: the room's files could not be read", err);
      this.failed.value = true;
    } finally {
      this.loading.value = false;
    }
  }
}
