/** @jsxImportSource preact */
/**
 * A space's home, in place of the room panel: its picture, name and description, what the user
 * may do (invite people, add an existing or a new room), and its rooms as `/hierarchy` lists
 * them, each with Join, or Open once joined.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useMemo } from "preact/hooks";
import { membersText } from "../../i18n/spaces.ts";
import { childLinks, maySend, SpaceHierarchy, spacesModel } from "../../state/spaces.ts";
import { useApp } from "../context.ts";
import { useKit } from "./kit.ts";
import { ProblemLine } from "./parts.tsx";
import { useSpacesText } from "./spaces_text.ts";

/** The home of the space `roomId`. */
export function SpaceHome(props: { roomId: string }): JSX.Element | null {
  const app = useApp();
  const t = useSpacesText();
  const locale = app.i18n.locale.value;
  const model = spacesModel(app);
  const kit = useKit();
  const { AppLink, Button, RoomAvatar } = kit;
  const client = app.session.clientReady.value;
  // Followed so that memberships and the space's links show as they change.
  void app.session.rooms.rooms.value;
  const hierarchy = useMemo(
    () => client ? new SpaceHierarchy(client, props.roomId) : null,
    [client, props.roomId],
  );
  const space = client?.getRoom(props.roomId) ?? null;
  const links = space ? [...childLinks(space).keys()].sort().join() : "";
  useEffect(() => model.select(props.roomId), [props.roomId]);
  useEffect(() => void hierarchy?.load(), [hierarchy, links]);
  if (!client || !space || !hierarchy) return null;
  const name = space.name?.trim() || t("spaces.unnamed");
  const topic = space.currentState.getStateEvents("m.room.topic", "")?.getContent().topic;
  const userId = client.getUserId() ?? "";
  const canAdd = maySend(client, props.roomId, "m.space.child");
  const rooms = hierarchy.rooms.value;
  const joining = hierarchy.joining.value;
  return (
    <section class="flex min-h-0 flex-1 flex-col overflow-y-auto" aria-labelledby="space-home">
      <div class="flex items-center gap-3 border-b border-slate-300 py-2 pr-2 pl-1 md:px-4 dark:border-slate-700">
        <AppLink
          href="/"
          onNavigate={() => app.go("home")}
          class="inline-flex h-10 w-10 shrink-0 items-center justify-center rounded-full text-slate-700 hover:bg-slate-200 focus-visible:outline-2 focus-visible:outline-sky-600 md:hidden dark:text-slate-200 dark:hover:bg-slate-700"
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" fill="none">
            <path
              d="M15 5l-7 7 7 7"
              stroke="currentColor"
              stroke-width="2"
              stroke-linecap="round"
            />
          </svg>
          <span class="sr-only">{app.i18n.t("shell.back")}</span>
        </AppLink>
        <RoomAvatar mxc={space.getMxcAvatarUrl()} name={name} roomId={space.roomId} size={40} />
        <div class="flex min-w-0 flex-col">
          <h2 id="space-home" class="truncate text-base font-bold">{name}</h2>
          <span class="text-xs text-slate-600 dark:text-slate-300">
            {t("spaces.kind")} · {membersText(locale, space.getJoinedMemberCount())}
          </span>
        </div>
      </div>
      <div class="flex flex-col gap-4 p-4">
        {typeof topic === "string" && topic.trim() && (
          <p class="text-sm whitespace-pre-wrap break-words">{topic.trim()}</p>
        )}
        <div class="flex flex-wrap gap-2">
          {space.canInvite(userId) && (
            <Button
              variant="quiet"
              onClick={() => kit.act(app, "invite", props.roomId)}
            >
              {t("spaces.invite")}
            </Button>
          )}
          <Button variant="quiet" onClick={() => kit.act(app, "settings", props.roomId)}>
            {t("spaces.settings")}
          </Button>
          <Button variant="quiet" onClick={() => kit.act(app, "leave", props.roomId)}>
            {t("spaces.leave")}
          </Button>
          {canAdd && (
            <Button
              variant="quiet"
              onClick={() => model.open({ kind: "addExisting", spaceId: props.roomId })}
            >
              {t("spaces.addExisting")}
            </Button>
          )}
          {canAdd && (
            <Button onClick={() => model.open({ kind: "addNew", spaceId: props.roomId })}>
              {t("spaces.addNew")}
            </Button>
          )}
        </div>
        <ProblemLine problem={hierarchy.problem.value} />
        <h3 id="space-rooms" class="text-sm font-semibold">{t("spaces.rooms")}</h3>
        {rooms.length > 0 && (
          <ul aria-labelledby="space-rooms" class="flex flex-col gap-2">
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
                    {room.topic && (
                      <span class="truncate text-xs text-slate-600 dark:text-slate-300">
                        {room.topic}
                      </span>
                    )}
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
                        onClick={() => app.openRoom(room.roomId)}
                      >
                        {t("spaces.open")}
                      </Button>
                    )
                    : (
                      <Button
                        busy={joining !== null}
                        label={t("spaces.joinLabel", { room: title })}
                        onClick={async () => {
                          if (await hierarchy.join(room)) app.openRoom(room.roomId);
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
          {hierarchy.loading.value
            ? t("spaces.loading")
            : hierarchy.loaded.value && rooms.length === 0 && !hierarchy.problem.value
            ? t("spaces.empty")
            : ""}
        </p>
        {hierarchy.hasMore.value && (
          <Button
            variant="quiet"
            busy={hierarchy.loading.value}
            onClick={() => void hierarchy.load({ more: true })}
          >
            {t("spaces.more")}
          </Button>
        )}
      </div>
    </section>
  );
}
