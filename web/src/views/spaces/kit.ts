/**
 * What the spaces chunk borrows from the first screen: the shell hands these over as a prop.
 * The chunk imports nothing of the first screen but preact, signals and the app context, so
 * it does not split the first screen's script into more, smaller (worse compressed) files.
 *
 * @module
 */

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { AppModel } from "../../state/app.ts";
import type { AppLink, Button } from "../controls.tsx";
import type { ModalDialog } from "../modal_dialog.tsx";
import type { RoomAvatar } from "../rooms/room_avatar.tsx";

/** The first screen's parts the spaces views use. */
export interface SpacesKit {
  RoomAvatar: typeof RoomAvatar;
  Button: typeof Button;
  AppLink: typeof AppLink;
  ModalDialog: typeof ModalDialog;
  /** Opens a room dialog: invite people, the room's settings, or leaving (which asks first). */
  act(app: AppModel, action: "invite" | "settings" | "leave", roomId: string): void;
}

/** The kit of the chunk's views, provided by its entry components. */
export const KitContext = createContext<SpacesKit | null>(null);

/** The kit (inside {@link KitContext}). */
export function useKit(): SpacesKit {
  const kit = useContext(KitContext);
  if (!kit) throw new Error("useKit outside <KitContext.Provider>");
  return kit;
}
