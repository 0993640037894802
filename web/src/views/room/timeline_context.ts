/**
 * What the tiles of one list (the room's timeline, or a thread) share: the room, the composer
 * that replies and edits go to, how to show another event, and how to open a thread.
 *
 * @module
 */

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import type { Composer } from "../../state/composer.ts";

/** The tiles' surroundings. */
export interface TileSurroundings {
  room: Room;
  /** Where Reply and Edit put the message. */
  composer: Composer;
  /** The list is a thread (no "Reply in thread", no thread summaries). */
  inThread: boolean;
  /** Scrolls to an event, loading it when needed. */
  jumpTo: (eventId: string) => void;
  /** Opens a thread on this root. */
  openThread: (rootId: string) => void;
}

/** The tiles' surroundings, provided by the list. */
export const TileContext = createContext<TileSurroundings | null>(null);

/** The tiles' surroundings. */
export function useTileSurroundings(): TileSurroundings {
  const value = useContext(TileContext);
  if (!value) throw new Error("a tile outside <TileContext.Provider>");
  return value;
}
