/** @jsxImportSource preact */
/**
 * The members part of the room settings, loaded with the dialog rather than the first screen: everyone joined, invited or banned, with their role
 * (Admin 100, Moderator 50, Member 0), a role picker where the user may change it, and remove,
 * ban and unban where the user has the power. A confirmation opens before removing, banning or
 * lowering one's own role. Anyone but oneself can be ignored, and the same button undoes it,
 * or reported to the server's administrators (report_user_dialog.tsx).
 *
 * @module
 */

import type { JSX } from "preact";
import { useId, useState } from "preact/hooks";
import type { MessageKey } from "../../i18n/index.ts";
import { isIgnored, setIgnored } from "../../state/ignore.ts";
import type { RoomActions } from "../../state/room_actions.ts";
import {
  type MemberInfo,
  type Role,
  ROLE_LEVELS,
  type RoomSettings,
  type RoomSnapshot,
} from "../../state/room_settings.ts";
import { Avatar, memberAvatarUrl } from "../avatar.tsx";
import { useApp } from "../context.ts";
import { Button } from "../controls.tsx";
import { Dialog } from "../dialog.tsx";
import { InviteIcon } from "./icons.tsx";
import { DialogButtons, ProblemText } from "./parts.tsx";
import { ReportUserButton } from "./report_user_dialog.tsx";

const ROLE_NAMES: Readonly<Record<Exclude<Role, "custom">, MessageKey>> = {
  admin: "rooms.role.admin",
  moderator: "rooms.role.moderator",
  member: "rooms.role.member",
  creator: "rooms.role.creator",
};

/** The name of a member's role. */
export function useRoleName(): (member: { role: Role; level: number }) => string {
  const { i18n } = useApp();
  return (member) =>
    member.role === "custom"
      ? i18n.t("rooms.role.custom", { level: member.level })
      : i18n.t(ROLE_NAMES[member.role]);
}

const SMALL_BUTTON =
  "rounded-md border border-slate-400 px-3 py-1.5 text-sm font-semibold text-slate-800 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-slate-500 dark:text-slate-100 dark:hover:bg-slate-800";
const DANGER_BUTTON =
  "rounded-md border border-red-700 px-3 py-1.5 text-sm font-semibold text-red-800 hover:bg-red-50 focus-visible:outline-2 focus-visible:outline-sky-600 disabled:opacity-60 dark:border-red-400 dark:text-red-200 dark:hover:bg-red-950";

function RoleSelect(props: {
  member: MemberInfo;
  settings: RoomSettings;
  noteId: string;
  busy: boolean;
}): JSX.Element {
  const { i18n } = useApp();
  const roleName = useRoleName();
  const { member, settings } = props;
  const current = member.level === Infinity ? "creator" : String(member.level);
  return (
    <select
      class="rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm text-slate-900 disabled:bg-slate-100 disabled:text-slate-700 dark:border-slate-500 dark:bg-slate-800 dark:text-slate-100 dark:disabled:bg-slate-900 dark:disabled:text-slate-300"
      aria-label={i18n.t("rooms.members.roleOf", { name: member.name })}
      aria-describedby={member.canChangeRole ? undefined : props.noteId}
      disabled={!member.canChangeRole || props.busy}
      value={current}
      onChange={(event) => void settings.setLevel(member, Number(event.currentTarget.value))}
    >
      {member.role === "creator" && <option value="creator">{roleName(member)}</option>}
      {member.role === "custom" && <option value={String(member.level)}>{roleName(member)}</option>}
      {Object.entries(ROLE_LEVELS).map(([role, level]) => (
        <option key={role} value={String(level)} disabled={level > member.maxLevel}>
          {roleName({ role: role as Role, level })}
        </option>
      ))}
    </select>
  );
}

function MemberRow(props: {
  member: MemberInfo;
  settings: RoomSettings;
  noteId: string;
}) {
  const { i18n, session } = useApp();
  const { member, settings } = props;
  const room = session.clientReady.value?.getRoom(settings.roomId) ?? null;
  const busy = settings.memberBusy.value === member.userId;
  const tags: string[] = [];
  if (member.isMe) tags.push(i18n.t("rooms.members.you"));
  if (member.membership === "invite") tags.push(i18n.t("rooms.members.invited"));
  if (member.membership === "ban") tags.push(i18n.t("rooms.members.banned"));
  return (
    <li class="flex flex-col gap-2 rounded-md border border-slate-300 p-3 sm:flex-row sm:items-center dark:border-slate-700">
      <div class="flex min-w-0 flex-1 items-center gap-2">
        <Avatar
          mxc={room ? memberAvatarUrl(room, member.userId) : null}
          name={member.name}
          colourKey={member.userId}
          size={32}
        />
        <div class="flex min-w-0 flex-1 flex-col">
          <span class="truncate text-sm font-semibold">
            {member.name}
            {tags.length > 0 && (
              <span class="ml-2 text-xs font-normal text-slate-600 dark:text-slate-300">
                {tags.join(" · ")}
              </span>
            )}
          </span>
          <span class="truncate text-xs text-slate-600 dark:text-slate-300">{member.userId}</span>
        </div>
      </div>
      <div class="flex flex-wrap items-center gap-2">
        {!member.isMe && <IgnoreButton userId={member.userId} name={member.name} />}
        {!member.isMe && (
          <ReportUserButton userId={member.userId} name={member.name} class={SMALL_BUTTON} />
        )}
        {member.membership !== "ban" && (
          <RoleSelect member={member} settings={settings} noteId={props.noteId} busy={busy} />
        )}
        {member.canKick && (
          <button
            type="button"
            class={SMALL_BUTTON}
            disabled={busy}
            aria-label={i18n.t("rooms.members.removeLabel", { name: member.name })}
            onClick={() => settings.moderate("kick", member)}
          >
            {i18n.t("rooms.members.remove")}
          </button>
        )}
        {member.canBan && (
          <button
            type="button"
            class={DANGER_BUTTON}
            disabled={busy}
            aria-label={i18n.t("rooms.members.banLabel", { name: member.name })}
            onClick={() => settings.moderate("ban", member)}
          >
            {i18n.t("rooms.members.ban")}
          </button>
        )}
        {member.canUnban && (
          <button
            type="button"
            class={SMALL_BUTTON}
            disabled={busy}
            aria-label={i18n.t("rooms.members.unbanLabel", { name: member.name })}
            onClick={() => void settings.unban(member.userId)}
          >
            {i18n.t("rooms.members.unban")}
          </button>
        )}
      </div>
    </li>
  );
}

/** Ignore a member, or stop ignoring them: the undo is the same button. */
function IgnoreButton(props: { userId: string; name: string }) {
  const { i18n, session } = useApp();
  const client = session.clientReady.value;
  const [ignored, setState] = useState(() => client ? isIgnored(client, props.userId) : false);
  const [busy, setBusy] = useState(false);
  if (!client) return null;
  const toggle = async () => {
    setBusy(true);
    try {
      await setIgnored(client, props.userId, !ignored);
      setState(!ignored);
    } catch {
      // The button keeps saying what is true.
    } finally {
      setBusy(false);
    }
  };
  const label = ignored ? "rooms.ignore.undoLabel" : "rooms.ignore.ignoreLabel";
  return (
    <button
      type="button"
      class={SMALL_BUTTON}
      disabled={busy}
      aria-label={i18n.t(label, { name: props.name })}
      onClick={() => void toggle()}
    >
      {i18n.t(ignored ? "rooms.ignore.undo" : "rooms.ignore.ignore")}
    </button>
  );
}

const CONFIRM_KEYS = {
  kick: ["rooms.members.kickTitle", "rooms.members.kickWarning", "rooms.members.remove"],
  ban: ["rooms.members.banTitle", "rooms.members.banWarning", "rooms.members.ban"],
  demoteSelf: ["rooms.members.demoteTitle", "rooms.members.demoteWarning", "rooms.members.demote"],
} as const satisfies Record<string, readonly [MessageKey, MessageKey, MessageKey]>;

function ConfirmModeration(props: { settings: RoomSettings }): JSX.Element | null {
  const { i18n } = useApp();
  const { settings } = props;
  const descriptionId = useId();
  const pending = settings.pending.value;
  if (!pending) return null;
  const [title, warning, confirm] = CONFIRM_KEYS[pending.action];
  const busy = settings.members.busy.value;
  return (
    <Dialog
      title={i18n.t(title, { name: pending.name })}
      onClose={() => settings.cancelModeration()}
      describedBy={descriptionId}
    >
      <p id={descriptionId} class="text-sm">{i18n.t(warning, { name: pending.name })}</p>
      <ProblemText problem={settings.members.problem.value} />
      <DialogButtons>
        <Button variant="quiet" onClick={() => settings.cancelModeration()}>
          {i18n.t("rooms.cancel")}
        </Button>
        <Button busy={busy} onClick={() => void settings.confirmModeration()}>
          {i18n.t(confirm)}
        </Button>
      </DialogButtons>
    </Dialog>
  );
}

/** The members of the room in its settings. */
export function MembersList(props: {
  settings: RoomSettings;
  snapshot: RoomSnapshot;
  actions: RoomActions;
}): JSX.Element {
  const { i18n } = useApp();
  const roleName = useRoleName();
  const { settings, snapshot } = props;
  const headingId = useId();
  const noteId = useId();
  const present = snapshot.members.filter((m) => m.membership !== "ban").length;
  const me = snapshot.members.find((m) => m.isMe);
  return (
    <>
      <section aria-labelledby={headingId} class="flex flex-col gap-3">
        <div class="flex flex-wrap items-center justify-between gap-2">
          <h3 id={headingId} class="text-base font-bold">
            {i18n.plural("rooms.members.count", present)}
          </h3>
          {snapshot.canInvite && (
            <Button
              variant="quiet"
              onClick={() => props.actions.invite(settings.roomId)}
            >
              <InviteIcon />
              {i18n.t("rooms.members.invite")}
            </Button>
          )}
        </div>
        <p id={noteId} class="text-sm text-slate-600 dark:text-slate-300">
          {me && i18n.t("rooms.members.yourRole", { role: roleName(me) })}{" "}
          {i18n.t("rooms.members.powerNote")}
        </p>
        {!settings.pending.value && <ProblemText problem={settings.members.problem.value} />}
        <ul class="flex flex-col gap-2">
          {snapshot.members.map((member) => (
            <MemberRow
              key={member.userId}
              member={member}
              settings={settings}
              noteId={noteId}
            />
          ))}
        </ul>
        <ConfirmModeration settings={settings} />
      </section>
    </>
  );
}
