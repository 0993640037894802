/** @jsxImportSource preact */
/**
 * The spaces chunk's dialogs: create a space, add a new or an existing room to a space, and
 * explore the server's public rooms (explore_dialog.tsx). One is open at a time; its form is
 * made when it opens.
 *
 * @module
 */

import type { ComponentChildren, JSX } from "preact";
import { useId, useMemo } from "preact/hooks";
import {
  CreateSpaceForm,
  ExistingRoomsForm,
  NewSpaceRoomForm,
  type SpaceRoomAccess,
} from "../../state/space_forms.ts";
import { type Spaces, spacesModel, type Task } from "../../state/spaces.ts";
import { useApp } from "../context.ts";
import { useKit } from "./kit.ts";
import { BUTTON_ROW, INPUT_CLASS, ProblemLine } from "./parts.tsx";
import { ExploreDialog } from "./explore_dialog.tsx";
import { useSpacesText } from "./spaces_text.ts";

/** The open dialog of the spaces model, if any. */
export function SpacesDialogs(): JSX.Element | null {
  const app = useApp();
  const model = spacesModel(app);
  const dialog = model.dialog.value;
  if (!dialog) return null;
  switch (dialog.kind) {
    case "create":
      return <CreateSpaceDialog model={model} />;
    case "explore":
      return <ExploreDialog model={model} />;
    case "addNew":
      return <NewRoomDialog key={dialog.spaceId} model={model} spaceId={dialog.spaceId} />;
    case "addExisting":
      return <ExistingRoomsDialog key={dialog.spaceId} model={model} spaceId={dialog.spaceId} />;
  }
}

function TextInputs(
  props: { name: { value: string }; topic: { value: string }; nameLabel?: string },
): JSX.Element {
  const t = useSpacesText();
  const id = useId();
  return (
    <>
      <div class="flex flex-col gap-1">
        <label for={`${id}-name`} class="text-sm font-medium">
          {props.nameLabel ?? t("spaces.name")}
        </label>
        <input
          id={`${id}-name`}
          class={INPUT_CLASS}
          required
          maxLength={255}
          value={props.name.value}
          onInput={(event) => props.name.value = event.currentTarget.value}
        />
      </div>
      <div class="flex flex-col gap-1">
        <label for={`${id}-topic`} class="text-sm font-medium">{t("spaces.topic")}</label>
        <textarea
          id={`${id}-topic`}
          class={INPUT_CLASS}
          rows={2}
          maxLength={1000}
          value={props.topic.value}
          onInput={(event) => props.topic.value = event.currentTarget.value}
        />
      </div>
    </>
  );
}

function Choices<T extends string>(
  props: { value: { value: T }; options: [T, string][] },
): JSX.Element {
  const t = useSpacesText();
  const name = useId();
  return (
    <fieldset class="flex flex-col gap-2">
      <legend class="mb-1 text-sm font-medium">{t("spaces.access")}</legend>
      {props.options.map(([value, label]) => (
        <label key={value} class="flex items-start gap-2 text-sm">
          <input
            type="radio"
            name={name}
            class="mt-0.5 h-4 w-4"
            checked={props.value.value === value}
            onChange={() =>
              props.value.value = value}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

function FormDialog(props: {
  title: string;
  onClose: () => void;
  onSubmit: () => void;
  task: Task;
  submit: string;
  children: ComponentChildren;
}): JSX.Element {
  const t = useSpacesText();
  const { Button, ModalDialog } = useKit();
  const busy = props.task.busy.value;
  return (
    <ModalDialog title={props.title} onClose={props.onClose}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          props.onSubmit();
        }}
      >
        {props.children}
        <ProblemLine problem={props.task.problem.value} />
        <div class={BUTTON_ROW}>
          <Button variant="quiet" onClick={props.onClose}>{t("spaces.cancel")}</Button>
          <Button type="submit" busy={busy}>{props.submit}</Button>
        </div>
      </form>
    </ModalDialog>
  );
}

function CreateSpaceDialog(props: { model: Spaces }): JSX.Element {
  const app = useApp();
  const t = useSpacesText();
  const { model } = props;
  const form = useMemo(() => new CreateSpaceForm(), []);
  const access = useMemo(() => ({
    get value(): string {
      return form.isPublic.value ? "public" : "private";
    },
    set value(choice: string) {
      form.isPublic.value = choice === "public";
    },
  }), [form]);
  return (
    <FormDialog
      title={t("spaces.create")}
      onClose={() => model.close()}
      task={form.task}
      submit={form.task.busy.value ? t("spaces.create.busy") : t("spaces.create.submit")}
      onSubmit={async () => {
        const client = app.session.clientReady.value;
        const roomId = client ? await form.create(client) : null;
        if (!roomId) return;
        model.close();
        model.select(roomId);
        app.openRoom(roomId);
      }}
    >
      <p class="text-sm text-slate-600 dark:text-slate-300">{t("spaces.create.intro")}</p>
      <TextInputs name={form.name} topic={form.topic} />
      <Choices
        value={access}
        options={[["private", t("spaces.create.private")], ["public", t("spaces.create.public")]]}
      />
    </FormDialog>
  );
}

function spaceName(app: ReturnType<typeof useApp>, spaceId: string, fallback: string): string {
  return app.session.clientReady.value?.getRoom(spaceId)?.name?.trim() || fallback;
}

function NewRoomDialog(props: { model: Spaces; spaceId: string }): JSX.Element {
  const app = useApp();
  const t = useSpacesText();
  const form = useMemo(() => new NewSpaceRoomForm(props.spaceId), [props.spaceId]);
  const space = spaceName(app, props.spaceId, t("spaces.unnamed"));
  return (
    <FormDialog
      title={t("spaces.newRoom.title", { space })}
      onClose={() => props.model.close()}
      task={form.task}
      submit={form.task.busy.value ? t("spaces.create.busy") : t("spaces.newRoom.submit")}
      onSubmit={async () => {
        const client = app.session.clientReady.value;
        if (client && await form.create(client)) props.model.close();
      }}
    >
      <TextInputs name={form.name} topic={form.topic} />
      <Choices<SpaceRoomAccess>
        value={form.access}
        options={[
          ["space", t("spaces.newRoom.members")],
          ["invite", t("spaces.newRoom.invited")],
        ]}
      />
      <p class="text-sm text-slate-600 dark:text-slate-300">{t("spaces.newRoom.hint")}</p>
    </FormDialog>
  );
}

function ExistingRoomsDialog(props: { model: Spaces; spaceId: string }): JSX.Element {
  const app = useApp();
  const t = useSpacesText();
  const { RoomAvatar } = useKit();
  const client = app.session.clientReady.value;
  const form = useMemo(() => new ExistingRoomsForm(props.spaceId), [props.spaceId]);
  const space = spaceName(app, props.spaceId, t("spaces.unnamed"));
  const joined = app.session.rooms.rooms.value.filter((room) =>
    room.membership === "join" && room.directUserId === null
  );
  const candidates = client ? form.candidates(client, joined) : [];
  const chosen = form.chosen.value;
  return (
    <FormDialog
      title={t("spaces.existing.title", { space })}
      onClose={() => props.model.close()}
      task={form.task}
      submit={form.task.busy.value ? t("spaces.existing.busy") : t("spaces.existing.submit")}
      onSubmit={async () => {
        if (client && chosen.size > 0 && await form.add(client)) props.model.close();
      }}
    >
      {candidates.length === 0
        ? <p class="text-sm">{t("spaces.existing.none")}</p>
        : (
          <ul class="flex max-h-80 flex-col gap-1 overflow-y-auto">
            {candidates.map((room) => {
              const name = room.name ?? t("spaces.unnamed");
              return (
                <li key={room.roomId}>
                  <label class="flex items-center gap-3 rounded-md p-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
                    <input
                      type="checkbox"
                      class="h-4 w-4"
                      checked={chosen.has(room.roomId)}
                      onChange={() => form.toggle(room.roomId)}
                    />
                    <RoomAvatar mxc={room.avatarUrl} name={name} roomId={room.roomId} size={32} />
                    <span class="truncate">{name}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        )}
    </FormDialog>
  );
}
