/** @jsxImportSource preact */
/**
 * Parts of the admin console's lists and detail views: tables, two-column facts, the search
 * form with "Show more" paging, and a row's "Open" button.
 *
 * @module
 */

import { type ComponentChildren, Fragment, type JSX } from "preact";
import { useState } from "preact/hooks";
import type { AdminKey } from "../../i18n/admin.ts";
import { Btn, Form, Input, useText } from "./admin_parts.tsx";

/**
 * A table with a caption and column headers; on a phone it scrolls sideways in a focusable
 * region, so keyboard users can scroll it too.
 */
export function Table(props: {
  caption: string;
  /** The columns' names ("" for a column of buttons). */
  head: (AdminKey | "")[];
  rows: { key: string; cells: ComponentChildren[] }[];
  empty?: string;
}): JSX.Element {
  const { t } = useText();
  return (
    <div
      class="max-w-full overflow-x-auto rounded-md border border-slate-300 dark:border-slate-700"
      role="region"
      aria-label={props.caption}
      tabIndex={0}
    >
      <table class="w-full text-left text-sm">
        <caption class="sr-only">{props.caption}</caption>
        <thead class="bg-slate-100 dark:bg-slate-800">
          <tr>
            {props.head.map((name) => (
              <th key={name} scope="col" class="px-2 py-1.5 font-semibold whitespace-nowrap">
                {name && t(name)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.key} class="border-t border-slate-200 align-top dark:border-slate-700">
              {row.cells.map((cell, i) => <td key={i} class="px-2 py-1.5 break-words">{cell}</td>)}
            </tr>
          ))}
          {props.rows.length === 0 && (
            <tr>
              <td colSpan={props.head.length} class="px-2 py-3 text-center">
                {props.empty ?? t("none")}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Facts in two columns: each row's name, its value, and whether the value may break anywhere. */
export function Facts(props: { rows: [AdminKey, ComponentChildren, "break-all"?][] }): JSX.Element {
  const { t } = useText();
  return (
    <dl class="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
      {props.rows.map(([name, value, wrap]) => (
        <Fragment key={name}>
          <dt class="font-semibold">{t(name)}</dt>
          <dd class={wrap}>{value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** Rows a list asks for at first, and how many more "Show more" adds. */
export const PAGE = 100;

/** "Show more" under a list that has more. */
export function More(
  props: { show: boolean; onMore: () => void; busy?: boolean },
): JSX.Element | null {
  const { t } = useText();
  return props.show
    ? (
      <div>
        <Btn busy={props.busy} onClick={props.onMore}>{t("more")}</Btn>
      </div>
    )
    : null;
}

/**
 * A list's search and length: the search as typed, the one submitted (`shown`), and how many
 * rows to ask for, which "Show more" raises (the API's pages stop at 1000 rows) and a new
 * search sets back.
 */
export function useSearchPages() {
  const [search, setSearch] = useState("");
  const [shown, setShown] = useState("");
  const [limit, setLimit] = useState(PAGE);
  return {
    search,
    setSearch,
    shown,
    limit,
    submit: () => [setShown(search.trim()), setLimit(PAGE)],
    more: () => setLimit(limit + PAGE),
  };
}

/** The search form above a list: the field named `label`, its button, then `children`. */
export function SearchForm(props: {
  pages: ReturnType<typeof useSearchPages>;
  label: string;
  children?: ComponentChildren;
}): JSX.Element {
  const { t } = useText();
  return (
    <Form onSubmit={props.pages.submit} label={t("search")}>
      <Input label={props.label} value={props.pages.search} onInput={props.pages.setSearch} />
      <Btn submit>{t("search")}</Btn>
      {props.children}
    </Form>
  );
}

/** A list row's "Open" button; `label` says what it opens. */
export function OpenBtn(props: { label: string; onClick: () => void }): JSX.Element {
  const { t } = useText();
  return <Btn label={props.label} onClick={props.onClick}>{t("open")}</Btn>;
}
