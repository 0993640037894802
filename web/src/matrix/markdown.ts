/**
 * The composer's markdown: a small subset (bold, italic, strikethrough, inline code, fenced code
 * blocks, links, block quotes, lists) turned into the HTML of `formatted_body`
 * (`format: org.matrix.custom.html`). Raw HTML in the source is escaped, never passed through,
 * and only http, https and mailto links become links. Single line breaks stay line breaks, as
 * people expect in a chat.
 *
 * Pure: no DOM, so it runs in unit tests as it runs in the app.
 *
 * @module
 */

/** What {@link renderMarkdown} made of a message. */
export interface MarkdownResult {
  /** The HTML (one paragraph is not wrapped in `<p>`). */
  html: string;
  /**
   * The source is plain text: no formatting, no escapes, so the message needs no
   * `formatted_body`.
   */
  plain: boolean;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML (content and attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Schemes a link may use. */
const LINK_SCHEMES = /^(https?:\/\/|mailto:)/i;

/** Whether `url` may become a link. */
export function isSafeLink(url: string): boolean {
  return LINK_SCHEMES.test(url) && !/[\s<>"]/.test(url);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^( {0,3})([-*+]) +(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})[.)] +(.*)$/;
const BLANK = /^\s*$/;

interface State {
  /** Something other than plain paragraph text was produced. */
  formatted: boolean;
}

/** Renders markdown source as HTML; see the module notes for the subset. */
export function renderMarkdown(source: string): MarkdownResult {
  const state: State = { formatted: false };
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks = parseBlocks(lines, state, 0);
  if (blocks.length === 1 && blocks[0].paragraph) {
    return { html: blocks[0].html, plain: !state.formatted };
  }
  if (blocks.length > 1) state.formatted = true;
  const html = blocks.map((b) => b.paragraph ? `<p>${b.html}</p>` : b.html).join("");
  return { html, plain: !state.formatted && blocks.length <= 1 };
}

interface Block {
  html: string;
  paragraph: boolean;
}

/** Deep quotes and lists stop nesting here (their text still shows). */
const MAX_DEPTH = 20;

function startsBlock(line: string): boolean {
  return FENCE.test(line) || QUOTE.test(line) || BULLET.test(line) || ORDERED.test(line);
}

function parseBlocks(lines: string[], state: State, depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body: string[] = [];
      i++;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.startsWith(marker[0].repeat(marker.length)) && /^(`+|~+)$/.test(close)) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : "";
      state.formatted = true;
      blocks.push({
        html: `<pre><code${lang}>${escapeHtml(body.join("\n"))}\n</code></pre>`,
        paragraph: false,
      });
      continue;
    }
    if (depth < MAX_DEPTH && QUOTE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length) {
        const match = QUOTE.exec(lines[i]);
        if (!match) break;
        inner.push(match[1]);
        i++;
      }
      state.formatted = true;
      const content = parseBlocks(inner, state, depth + 1);
      blocks.push({ html: `<blockquote>${joinBlocks(content)}</blockquote>`, paragraph: false });
      continue;
    }
    if (depth < MAX_DEPTH && (BULLET.test(line) || ORDERED.test(line))) {
      const { html, next } = parseList(lines, i, state, depth);
      blocks.push({ html, paragraph: false });
      i = next;
      continue;
    }
    const text: string[] = [];
    while (
      i < lines.length && !BLANK.test(lines[i]) && (text.length === 0 || !startsBlock(lines[i]))
    ) {
      text.push(lines[i]);
      i++;
    }
    blocks.push({ html: renderInline(text.join("\n"), state), paragraph: true });
  }
  return blocks;
}

function joinBlocks(blocks: Block[]): string {
  if (blocks.length === 1 && blocks[0].paragraph) return blocks[0].html;
  return blocks.map((b) => b.paragraph ? `<p>${b.html}</p>` : b.html).join("");
}

/** A list item's blocks: paragraphs unwrapped (a tight list), apart by a line break. */
function joinTight(blocks: Block[]): string {
  let html = "";
  blocks.forEach((block, index) => {
    if (block.paragraph && index > 0 && blocks[index - 1].paragraph) html += "<br />";
    html += block.html;
  });
  return html;
}

/** A list starting at `start`: items of the same kind, their indented lines nested. */
function parseList(
  lines: string[],
  start: number,
  state: State,
  depth: number,
): { html: string; next: number } {
  const first = BULLET.exec(lines[start]) ?? ORDERED.exec(lines[start])!;
  const ordered = ORDERED.test(lines[start]) && !BULLET.test(lines[start]);
  const pattern = ordered ? ORDERED : BULLET;
  const items: string[][] = [];
  let i = start;
  while (i < lines.length) {
    const match = pattern.exec(lines[i]);
    if (match && match[1].length <= first[1].length + 1) {
      items.push([match[3]]);
      i++;
      continue;
    }
    const line = lines[i];
    if (items.length === 0) break;
    if (BLANK.test(line)) {
      // A blank line ends the list unless the next line carries on an item.
      const after = lines[i + 1];
      if (after !== undefined && (pattern.exec(after) || /^ {2,}\S/.test(after))) {
        items[items.length - 1].push("");
        i++;
        continue;
      }
      break;
    }
    // Indented lines (two spaces or more) belong to the item: nested lists, more text.
    const indent = /^( {2,})(.*)$/.exec(line);
    if (indent) {
      items[items.length - 1].push(line.replace(/^ {2,4}/, ""));
      i++;
      continue;
    }
    // A plain line right after an item carries on its text; another block ends the list.
    if (startsBlock(line)) break;
    items[items.length - 1].push(line);
    i++;
  }
  state.formatted = true;
  const startNumber = ordered ? Number(first[2]) : 1;
  const tag = ordered ? "ol" : "ul";
  const open = ordered && startNumber !== 1 ? `<ol start="${startNumber}">` : `<${tag}>`;
  const body = items.map((item) => `<li>${joinTight(parseBlocks(item, state, depth + 1))}</li>`)
    .join("");
  return { html: `${open}${body}</${tag}>`, next: i };
}

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const WORD = /[\p{L}\p{N}]/u;
const BARE_URL = /^(https?:\/\/[^\s<]+[^\s<.,:;!?"')\]}])/i;

/** Inline markup of one paragraph's text. */
function renderInline(text: string, state: State): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) {
      state.formatted = true;
      out += escapeHtml(text[i + 1]);
      i += 2;
      continue;
    }
    if (c === "\n") {
      out += "<br />";
      i++;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(text.slice(i))![0];
      const close = findCodeClose(text, i + run.length, run.length);
      if (close >= 0) {
        let code = text.slice(i + run.length, close).replace(/\n/g, " ");
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        out += `<code>${escapeHtml(code)}</code>`;
        state.formatted = true;
        i = close + run.length;
        continue;
      }
      out += escapeHtml(run);
      i += run.length;
      continue;
    }
    if (c === "[") {
      const link = parseLink(text, i);
      if (link) {
        out += `<a href="${escapeHtml(link.url)}">${renderInline(link.label, state)}</a>`;
        state.formatted = true;
        i = link.end;
        continue;
      }
    }
    if (c === "<") {
      const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
      if (auto && isSafeLink(auto[1])) {
        out += `<a href="${escapeHtml(auto[1])}">${escapeHtml(auto[1])}</a>`;
        state.formatted = true;
        i += auto[0].length;
        continue;
      }
    }
    if ((c === "h" || c === "H") && (i === 0 || !WORD.test(text[i - 1]))) {
      const url = BARE_URL.exec(text.slice(i));
      if (url) {
        // A bare address stays plain text in `body`; it is a link only in the HTML.
        out += `<a href="${escapeHtml(url[1])}">${escapeHtml(url[1])}</a>`;
        i += url[1].length;
        continue;
      }
    }
    if (c === "*" || c === "_" || c === "~") {
      const emphasis = parseEmphasis(text, i, state);
      if (emphasis) {
        out += emphasis.html;
        i = emphasis.end;
        continue;
      }
    }
    out += escapeHtml(c);
    i++;
  }
  return out;
}

function findCodeClose(text: string, from: number, length: number): number {
  let i = from;
  while (i < text.length) {
    const at = text.indexOf("`".repeat(length), i);
    if (at < 0) return -1;
    const runEnd = /^`+/.exec(text.slice(at))![0].length;
    if (runEnd === length) return at;
    i = at + runEnd;
  }
  return -1;
}

/** `[label](url)` at `start`, when the url is a link we allow. */
function parseLink(
  text: string,
  start: number,
): { label: string; url: string; end: number } | null {
  let depth = 0;
  let i = start;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(text.slice(i))![0].length;
      const close = findCodeClose(text, i + run, run);
      if (close >= 0) i = close + run - 1;
      continue;
    }
    if (c === "[") depth++;
    if (c === "]" && --depth === 0) break;
  }
  if (i >= text.length || text[i + 1] !== "(") return null;
  const rest = /^\(<?([^\s()<>]+)>?\)/.exec(text.slice(i + 1));
  if (!rest || !isSafeLink(rest[1])) return null;
  return { label: text.slice(start + 1, i), url: rest[1], end: i + 1 + rest[0].length };
}

const EMPHASIS_TAGS: Readonly<Record<string, string>> = {
  "***": "em><strong",
  "___": "em><strong",
  "**": "strong",
  "__": "strong",
  "*": "em",
  "_": "em",
  "~~": "del",
};

/** Emphasis opening at `start` (`*`, `_`, `**`, `__`, `***`, `~~`), when it closes. */
function parseEmphasis(
  text: string,
  start: number,
  state: State,
): { html: string; end: number } | null {
  const c = text[start];
  const run = new RegExp(`^\\${c}+`).exec(text.slice(start))![0];
  const candidates = c === "~"
    ? (run.length === 2 ? ["~~"] : [])
    : [run.slice(0, 3), run.slice(0, 2), c]
      .filter((d, index, all) => d.length <= run.length && all.indexOf(d) === index);
  for (const delimiter of candidates) {
    const open = start + delimiter.length;
    // Opening: followed by a non-space; `_` must not sit inside a word (snake_case).
    if (open >= text.length || /\s/.test(text[open])) continue;
    if (c === "_" && start > 0 && WORD.test(text[start - 1])) continue;
    const close = findEmphasisClose(text, open, delimiter);
    if (close < 0) continue;
    const inner = text.slice(open, close);
    const tags = EMPHASIS_TAGS[delimiter];
    const [openTag, closeTag] = tags.includes("><")
      ? ["<em><strong>", "</strong></em>"]
      : [`<${tags}>`, `</${tags}>`];
    state.formatted = true;
    return {
      html: `${openTag}${renderInline(inner, state)}${closeTag}`,
      end: close + delimiter.length,
    };
  }
  return null;
}

function findEmphasisClose(text: string, from: number, delimiter: string): number {
  const c = delimiter[0];
  let i = from;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") {
      i += 2;
      continue;
    }
    if (ch === "`") {
      const run = /^`+/.exec(text.slice(i))![0].length;
      const close = findCodeClose(text, i + run, run);
      i = close >= 0 ? close + run : i + run;
      continue;
    }
    if (ch === c) {
      const run = new RegExp(`^\\${c}+`).exec(text.slice(i))![0];
      // A run of another length belongs to nested emphasis, except `***` closing both.
      const fits = run.length === delimiter.length ||
        (run.length === 3 && delimiter.length < 3 && c !== "~");
      const closing = i > from && !/\s/.test(text[i - 1]) && fits;
      const wordAfter = c === "_" && WORD.test(text[i + run.length] ?? "");
      if (closing && !wordAfter) {
        // The closing delimiter is the run's last `delimiter.length` characters when longer.
        return i + run.length - delimiter.length;
      }
      i += run.length;
      continue;
    }
    i++;
  }
  return -1;
}
