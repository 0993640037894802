/**
 * Received `formatted_body` HTML, made safe: the browser parses it (DOMParser, in an inert
 * document), and this module walks the parsed nodes and keeps only an allow-list of tags and
 * attributes (the spec's recommended list for `org.matrix.custom.html`), as plain data the view
 * turns into Preact elements. Nothing from the message is ever set as HTML.
 *
 * - Reply fallbacks (`<mx-reply>`) and script-like elements go with their content.
 * - Unknown elements are unwrapped: their text stays.
 * - Links keep only http, https and mailto addresses; matrix.to links to people become
 *   mentions (pills).
 * - Images are replaced by their alt text (remote images would leak who reads).
 *
 * Pure: it reads nodes through {@link HtmlNodeLike}, so unit tests hand it small trees.
 *
 * @module
 */

/** The parts of a DOM node this module reads. */
export interface HtmlNodeLike {
  /** 1 element, 3 text, anything else is dropped. */
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  childNodes: ArrayLike<HtmlNodeLike>;
  getAttribute?(name: string): string | null;
}

/** An element that survived. */
export interface SafeElement {
  kind: "element";
  tag: SafeTag;
  attrs: Readonly<Record<string, string>>;
  children: SafeNode[];
}

/** A mention of a person (a matrix.to link to a user ID). */
export interface SafeMention {
  kind: "mention";
  userId: string;
  /** The link's text. */
  text: string;
}

/** A spoiler: hidden until the reader asks. */
export interface SafeSpoiler {
  kind: "spoiler";
  reason: string;
  children: SafeNode[];
}

/** One node of sanitised HTML: text, or one of the kinds above. */
export type SafeNode = string | SafeElement | SafeMention | SafeSpoiler;

/** Tags kept as they are. */
export const SAFE_TAGS = [
  "a",
  "b",
  "blockquote",
  "br",
  "caption",
  "code",
  "del",
  "details",
  "div",
  "em",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "hr",
  "i",
  "li",
  "ol",
  "p",
  "pre",
  "s",
  "span",
  "strike",
  "strong",
  "sub",
  "summary",
  "sup",
  "table",
  "tbody",
  "td",
  "tfoot",
  "th",
  "thead",
  "tr",
  "u",
  "ul",
] as const;

/** A tag in {@link SAFE_TAGS}. */
export type SafeTag = typeof SAFE_TAGS[number];

const SAFE = new Set<string>(SAFE_TAGS);
/** Elements dropped with everything inside. */
const DROP = new Set([
  "mx-reply",
  "script",
  "style",
  "head",
  "title",
  "template",
  "iframe",
  "object",
  "embed",
  "noscript",
  "svg",
  "math",
  "textarea",
  "select",
  "option",
  "button",
  "form",
  "input",
  "link",
  "meta",
  "base",
  "frame",
  "frameset",
  "audio",
  "video",
  "canvas",
]);
/** Deeper nesting is flattened to text (a hostile message cannot blow the stack). */
const MAX_DEPTH = 64;

/** Where a matrix.to link points. */
export type Permalink =
  | { kind: "user"; userId: string }
  | { kind: "room"; roomIdOrAlias: string; eventId?: string };

/** Reads a `https://matrix.to/#/...` link; null for anything else. */
export function parsePermalink(href: string): Permalink | null {
  const match = /^https:\/\/matrix\.to\/#\/([^?]+)/i.exec(href.trim());
  if (!match) return null;
  const parts = match[1].split("/").map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  const [first, second] = parts;
  if (/^@[^:]+:.+$/.test(first)) return { kind: "user", userId: first };
  if (/^[!#][^:]+:.+$/.test(first)) {
    return second?.startsWith("$")
      ? { kind: "room", roomIdOrAlias: first, eventId: second }
      : { kind: "room", roomIdOrAlias: first };
  }
  return null;
}

/** The link to a person that mentions carry. */
export function userPermalink(userId: string): string {
  return `https://matrix.to/#/${userId}`;
}

/** Whether a received link address may be followed. */
export function isAllowedHref(href: string): boolean {
  return /^(https?:\/\/|mailto:)[^\s]*$/i.test(href.trim());
}

function attr(node: HtmlNodeLike, name: string): string | null {
  return node.getAttribute?.(name) ?? null;
}

/** The text inside `root`, walked without recursion (it may be nested very deeply). */
function textOf(root: HtmlNodeLike): string {
  let text = "";
  const stack: HtmlNodeLike[] = [root];
  while (stack.length) {
    const node = stack.pop()!;
    if (node.nodeType === 3) text += node.nodeValue ?? "";
    if (node.nodeType !== 1 || DROP.has(node.nodeName.toLowerCase())) continue;
    for (let i = node.childNodes.length - 1; i >= 0; i--) stack.push(node.childNodes[i]);
  }
  return text;
}

/** The attributes kept on a safe element. */
function safeAttrs(tag: SafeTag, node: HtmlNodeLike): Record<string, string> | null {
  switch (tag) {
    case "a": {
      const href = attr(node, "href")?.trim();
      return href && isAllowedHref(href) ? { href } : null;
    }
    case "ol": {
      const start = attr(node, "start");
      return start && /^\d{1,9}$/.test(start) ? { start } : {};
    }
    case "code": {
      const className = attr(node, "class");
      return className && /^language-[\w+#.-]{1,32}$/.test(className) ? { class: className } : {};
    }
    case "details": {
      return attr(node, "open") !== null ? { open: "" } : {};
    }
    default:
      return {};
  }
}

function sanitiseChildren(node: HtmlNodeLike, depth: number): SafeNode[] {
  const out: SafeNode[] = [];
  for (let i = 0; i < node.childNodes.length; i++) {
    for (const child of sanitiseNode(node.childNodes[i], depth)) {
      // Adjacent text is merged, so the view renders fewer nodes.
      const last = out[out.length - 1];
      if (typeof child === "string" && typeof last === "string") out[out.length - 1] = last + child;
      else out.push(child);
    }
  }
  return out;
}

function sanitiseNode(node: HtmlNodeLike, depth: number): SafeNode[] {
  if (node.nodeType === 3) return node.nodeValue ? [node.nodeValue] : [];
  if (node.nodeType !== 1) return [];
  const name = node.nodeName.toLowerCase();
  if (DROP.has(name)) return [];
  if (depth >= MAX_DEPTH) {
    const text = textOf(node);
    return text ? [text] : [];
  }
  if (name === "img") {
    const alt = attr(node, "alt") ?? attr(node, "title") ?? "";
    return alt ? [alt] : [];
  }
  if (name === "span" && attr(node, "data-mx-spoiler") !== null) {
    return [{
      kind: "spoiler",
      reason: attr(node, "data-mx-spoiler") ?? "",
      children: sanitiseChildren(node, depth + 1),
    }];
  }
  if (!SAFE.has(name)) return sanitiseChildren(node, depth + 1);
  const tag = name as SafeTag;
  if (tag === "a") {
    const href = attr(node, "href")?.trim() ?? "";
    const permalink = parsePermalink(href);
    if (permalink?.kind === "user") {
      return [{ kind: "mention", userId: permalink.userId, text: textOf(node) }];
    }
  }
  const attrs = safeAttrs(tag, node);
  // A link to somewhere we do not follow keeps its text only.
  if (attrs === null) return sanitiseChildren(node, depth + 1);
  const children = tag === "br" || tag === "hr" ? [] : sanitiseChildren(node, depth + 1);
  return [{ kind: "element", tag, attrs, children }];
}

const TAG = /<[a-z][^>]*>/gi;
const INLINE_ATTRIBUTE = /\s(?:style|on[a-z]+)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)/gi;

/**
 * The HTML without inline styles and event handler attributes, before the browser parses it:
 * even in an inert document the browser checks them against the page's Content-Security-Policy
 * and reports every one. (Safety does not rest on this: the allow-list drops all attributes it
 * does not know.)
 */
export function stripInlineAttributes(html: string): string {
  return html.replace(TAG, (tag) => tag.replace(INLINE_ATTRIBUTE, ""));
}

/**
 * The safe content of a parsed HTML body (the `<body>` of an inert document, or any node whose
 * children are the message).
 */
export function sanitiseHtml(root: HtmlNodeLike): SafeNode[] {
  return sanitiseChildren(root, 0);
}

/** The user IDs a sanitised message mentions by pill. */
export function mentionedUsers(nodes: readonly SafeNode[]): string[] {
  const found = new Set<string>();
  const walk = (list: readonly SafeNode[]) => {
    for (const node of list) {
      if (typeof node === "string") continue;
      if (node.kind === "mention") found.add(node.userId);
      else walk(node.children);
    }
  };
  walk(nodes);
  return [...found];
}
