/** @jsxImportSource preact */
/**
 * "Explore public rooms": the user's server's public room directory, searched as the user
 * types (a short pause first), a page at a time, each room with Join, or Open when the user is
 * already in it.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useId, useMemo, useRef } from "preact/hooks";
import { membersText } from "../../i18n/spaces.ts";
import { PublicDirectory } from "../../state/space_forms.ts";
import type { Spaces } from "../../state/spaces.ts";
import { useApp } from "../context.ts";
import { useKit } from "./kit.ts";
import { BUTTON_ROW, INPUT_CLASS, ProblemLine } from "./parts.tsx";
import { useSpacesText } from "./spaces_text.ts";

/** How long typing pauses before the search is sent. */
const SEARCH_PAUSE_MS = 300;

/** The public room directory dialog. */
export function ExploreDialog(props: { model: Spaces }): JSX.Element | null {
  const app = useApp();
  const t = useSpacesText();
  const { Button, ModalDialog, RoomAvatar } = useKit();
  const locale = app.i18n.locale.value;
  const client = app.session.clientReady.value;
  const id = useId();
  const directory = useMemo(() => client ? new PublicDirectory(client) : null, [client]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    void directory?.search();
    return () => clearTimeout(timer.current);
  }, [directory]);
  // Followed so that a room shows Open as soon as the user is in it.
  void app.session.rooms.rooms.value;
  if (!client || !directory) return null;
  const close = () => props.model.close();
  const rooms = directory.rooms.value;
  const joining = directory.joining.value;
  return (
    <ModalDialog title={t("spaces.explore")} onClose={close} wide>
      <div role="search" class="flex flex-col gap-1">
        <label for={id} class="text-sm font-medium">{t("spaces.explore.search")}</label>
        <input
          id={id}
          type="search"
          class={INPUT_CLASS}
          maxLength={200}
          value={directory.term.value}
          onInput={(event) => {
            directory.term.value = event.currentTarget.value;
            clearTimeout(timer.current);
            timer.current = setTimeout(() => void directory.search(), SEARCH_PAUSE_MS);
          }}
        />
      </div>
      <ProblemLine problem={directory.task.problem.value} />
      {rooms.length > 0 && (
        <ul aria-label={t("spaces.explore.list")} class="flex flex-col gap-2">
          {rooms.map((room) => {
            const title = room.name ?? room.alias ?? t("spaces.unnamed");
            const joined = client.getRoom(room.roomId)?.getMyMembership() === "join";
            return (
              <li
                key={room.roomId}
                class="flex items-center gap-3 rounded-md border border-slate-300 p-3 dark:border-slate-700"
              >
                <RoomAvatar mxc={room.avatarUrl} name={title} roomId={room.roomId} size={40} />
                <div class="flex min-w-0 flex-1 flex-col">
                  <span class="truncate text-sm font-semibold">{title}</span>
                  {room.alias && room.alias !== title && (
                    <span class="truncate text-xs text-slate-600 dark:text-slate-300">
                      {room.alias}
                    </span>
                  )}
                  {room.topic && <span class="line-clamp-2 text-xs break-words">{room.topic}</span>}
                  <span class="text-xs text-slate-600 dark:text-slate-300">
                    {room.isSpace ? `${t("spaces.kind")} · ` : ""}
                    {membersText(locale, room.members)}
                  </span>
                </div>
                {joined
                  ? (
                    <Button
                      variant="quiet"
                      label={t("spaces.openLabel", { room: title })}
                      onClick={() => {
                        close();
                        app.openRoom(room.roomId);
                      }}
                    >
                      {t("spaces.open")}
                    </Button>
                  )
                  : (
                    <Button
                      busy={joining !== null}
                      label={t("spaces.joinLabel", { room: title })}
                      onClick={async () => {
                        if (!(await directory.join(room))) return;
                        close();
                        app.openRoom(room.roomId);
                      }}
                    >
                      {t("spaces.join")}
                    </Button>
                  )}
              </li>
            );
          })}
        </ul>
      )}
      <p role="status" class="text-sm text-slate-600 empty:hidden dark:text-slate-300">
        {directory.loading.value
          ? t("spaces.loading")
          : directory.answered.value && rooms.length === 0
          ? t("spaces.explore.none")
          : ""}
      </p>
      <div class={BUTTON_ROW}>
        {directory.hasMore.value && (
          <Button
            variant="quiet"
            busy={directory.loading.value}
            onClick={() => void directory.search({ more: true })}
          >
            {t("spaces.more")}
          </Button>
        )}
        <Button variant="quiet" onClick={close}>{t("spaces.close")}</Button>
      </div>
    </ModalDialog>
  );
}
