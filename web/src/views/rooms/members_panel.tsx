/** @jsxImportSource preact */
/**
 * The room settings' notification level (room_extras.tsx) and members (members_list.tsx). Like
 * all room dialogs they load when a dialog first opens, not with the first screen.
 *
 * @module
 */

import type { JSX } from "preact";
import type { RoomActions } from "../../state/room_actions.ts";
import type { RoomSettings, RoomSnapshot } from "../../state/room_settings.ts";
import { MembersList } from "./members_list.tsx";
import { RoomNotifyPicker } from "./room_extras.tsx";

/** The notification level and the members of the room in its settings. */
export function MembersPanel(props: {
  settings: RoomSettings;
  snapshot: RoomSnapshot;
  actions: RoomActions;
}): JSX.Element {
  return (
    <>
      <RoomNotifyPicker roomId={props.settings.roomId} />
      <MembersList {...props} />
    </>
  );
}
