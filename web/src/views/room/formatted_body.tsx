/** @jsxImportSource preact */
/**
 * A message's text on screen: received HTML parsed by the browser in an inert document
 * (DOMParser runs no script and loads nothing), reduced to the allow-list of
 * matrix/html_sanitise.ts and built as Preact elements - never set as HTML. Plain bodies get
 * their web addresses as links. Links open in a new tab without access to this one; mentions
 * show as pills with the person's name in the room, and a mention of the reader stands out.
 *
 * @module
 */

import { type ComponentChildren, h, type JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { Room } from "matrix-js-sdk";
import {
  type SafeNode,
  type SafeTag,
  sanitiseHtml,
  stripInlineAttributes,
} from "../../matrix/html_sanitise.ts";
import { displayName } from "../../state/timeline.ts";
import { useApp } from "../context.ts";

const LINK_CLASS =
  "break-words text-sky-800 underline underline-offset-2 hover:text-sky-900 dark:text-sky-300 dark:hover:text-sky-200";

/** Classes of the kept tags (Tailwind's reset leaves lists, quotes and headings bare). */
const TAG_CLASS: Partial<Record<SafeTag, string>> = {
  a: LINK_CLASS,
  blockquote:
    "my-1 border-l-4 border-slate-300 pl-3 text-slate-700 dark:border-slate-600 dark:text-slate-300",
  code: "rounded bg-slate-100 px-1 py-0.5 font-mono text-[0.9em] dark:bg-slate-800",
  pre:
    "my-1 overflow-x-auto rounded-md bg-slate-100 p-2 font-mono text-sm dark:bg-slate-800 [&>code]:bg-transparent [&>code]:p-0",
  ul: "my-1 list-disc pl-6",
  ol: "my-1 list-decimal pl-6",
  p: "my-1 first:mt-0 last:mb-0",
  h1: "my-1 text-xl font-bold",
  h2: "my-1 text-lg font-bold",
  h3: "my-1 text-base font-bold",
  h4: "my-1 font-bold",
  h5: "my-1 font-bold",
  h6: "my-1 font-bold",
  b: "font-bold",
  strong: "font-bold",
  i: "italic",
  em: "italic",
  u: "underline",
  s: "line-through",
  del: "line-through",
  strike: "line-through",
  hr: "my-2 border-slate-300 dark:border-slate-600",
  table: "my-1 border-collapse text-sm",
  th: "border border-slate-300 px-2 py-1 text-left font-semibold dark:border-slate-600",
  td: "border border-slate-300 px-2 py-1 dark:border-slate-600",
  summary: "cursor-pointer font-semibold",
};

/** Elements that carry no `children`. */
const VOID_TAGS = new Set<SafeTag>(["br", "hr"]);

function Mention(props: { userId: string; text: string; room: Room }): JSX.Element {
  const { session } = useApp();
  const me = props.userId === session.userId.value;
  const name = props.room.getMember(props.userId)
    ? displayName(props.room, props.userId)
    : props.text;
  return (
    <a
      href={`https://matrix.to/#/${props.userId}`}
      target="_blank"
      rel="noopener noreferrer nofollow"
      data-mention={props.userId}
      title={props.userId}
      class={`inline-block rounded-full px-2 text-[0.95em] font-semibold no-underline ${
        me
          ? "bg-amber-200 text-amber-950 dark:bg-amber-700 dark:text-white"
          : "bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100"
      }`}
    >
      {name}
    </a>
  );
}

function Spoiler(props: { reason: string; children: ComponentChildren }): JSX.Element {
  const { i18n } = useApp();
  const [shown, setShown] = useState(false);
  if (shown) {
    return <span class="rounded bg-slate-200 px-1 dark:bg-slate-700">{props.children}</span>;
  }
  return (
    <button
      type="button"
      class="rounded bg-slate-700 px-2 text-sm font-semibold text-white hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-sky-600 dark:bg-slate-300 dark:text-slate-900"
      onClick={() => setShown(true)}
    >
      {props.reason
        ? i18n.t("timeline.spoilerReason", { reason: props.reason })
        : i18n.t("timeline.spoiler")}
    </button>
  );
}

/** Elements whose text is not searched for web addresses. */
const NO_LINKIFY = new Set<SafeTag>(["a", "code", "pre"]);

function renderNodes(
  nodes: readonly SafeNode[],
  room: Room,
  linkifyText = true,
): ComponentChildren {
  return nodes.map((node, index) => {
    if (typeof node === "string") return linkifyText ? linkify(node) : node;
    if (node.kind === "mention") {
      return <Mention key={index} userId={node.userId} text={node.text} room={room} />;
    }
    if (node.kind === "spoiler") {
      return (
        <Spoiler key={index} reason={node.reason}>
          {renderNodes(node.children, room, linkifyText)}
        </Spoiler>
      );
    }
    const attrs: Record<string, string | undefined> = { ...node.attrs };
    attrs.class = [TAG_CLASS[node.tag], node.attrs.class].filter(Boolean).join(" ") || undefined;
    attrs.key = String(index);
    if (node.tag === "a") {
      attrs.target = "_blank";
      attrs.rel = "noopener noreferrer nofollow";
    }
    // A plain tag name and attributes: the element is built, never parsed from text.
    if (VOID_TAGS.has(node.tag)) return h(node.tag, attrs);
    const childLinks = linkifyText && !NO_LINKIFY.has(node.tag);
    return h(node.tag, attrs, renderNodes(node.children, room, childLinks));
  });
}

/** Received `formatted_body` HTML, sanitised. */
export function FormattedBody(props: { html: string; room: Room }): JSX.Element {
  const nodes = useMemo(() => {
    const document = new DOMParser().parseFromString(
      stripInlineAttributes(props.html),
      "text/html",
    );
    return sanitiseHtml(document.body);
  }, [props.html]);
  return <>{renderNodes(nodes, props.room)}</>;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<]+[^\s<.,:;!?"')\]}]/gi;

/** Text with its web addresses as links. */
function linkify(text: string): ComponentChildren {
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const at = match.index ?? 0;
    if (at > last) parts.push(text.slice(last, at));
    parts.push(
      <a
        key={at}
        href={match[0]}
        target="_blank"
        rel="noopener noreferrer nofollow"
        class={LINK_CLASS}
      >
        {match[0]}
      </a>,
    );
    last = at + match[0].length;
  }
  if (last === 0) return text;
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** Plain text with its web addresses as links (line breaks kept by the caller's CSS). */
export function PlainBody(props: { text: string }): JSX.Element {
  return <>{linkify(props.text)}</>;
}
