/**
 * The timeline's pure parts: the composer's markdown (web/src/matrix/markdown.ts), the
 * allow-list that makes received HTML safe (web/src/matrix/html_sanitise.ts), message content
 * for replies, threads, edits and mentions (web/src/matrix/message_content.ts), and the
 * layout of tiles, day separators, sender groups and receipts (web/src/state/timeline_items.ts).
 */

import { renderMarkdown } from "../../web/src/matrix/markdown.ts";
import {
  type HtmlNodeLike,
  mentionedUsers,
  parsePermalink,
  sanitiseHtml,
  stripInlineAttributes,
} from "../../web/src/matrix/html_sanitise.ts";
import {
  composeMessage,
  editContent,
  messageContent,
  partsForEdit,
  reactionContent,
  replyTarget,
  stripReplyFallback,
} from "../../web/src/matrix/message_content.ts";
import {
  GROUP_WINDOW_MS,
  type LayoutEvent,
  layoutTimeline,
  tileKind,
} from "../../web/src/state/timeline_items.ts";
import { assert, assertEquals } from "./assert.ts";

const md = (source: string) => renderMarkdown(source).html;

Deno.test("markdown: plain text needs no HTML", () => {
  assertEquals(renderMarkdown("Moien alleguer"), { html: "Moien alleguer", plain: true });
  assertEquals(renderMarkdown("2 * 3 = 6, a_b_c and snake_case"), {
    html: "2 * 3 = 6, a_b_c and snake_case",
    plain: true,
  });
  assertEquals(renderMarkdown("line one\nline two").plain, true);
  assertEquals(md("line one\nline two"), "line one<br />line two");
  // An escape changes the text, so the message needs its HTML.
  assertEquals(renderMarkdown("\\*not italic\\*"), { html: "*not italic*", plain: false });
});

Deno.test("markdown: inline formatting", () => {
  assertEquals(md("**bold** and __bold__"), "<strong>bold</strong> and <strong>bold</strong>");
  assertEquals(md("*italic* and _italic_"), "<em>italic</em> and <em>italic</em>");
  assertEquals(md("~~gone~~"), "<del>gone</del>");
  assertEquals(md("***both***"), "<em><strong>both</strong></em>");
  assertEquals(md("*a **b** c*"), "<em>a <strong>b</strong> c</em>");
  assertEquals(md("use `a * b` here"), "use <code>a * b</code> here");
  assertEquals(md("``code with ` tick``"), "<code>code with ` tick</code>");
  assertEquals(md("** not bold**"), "** not bold**");
  assertEquals(md("unclosed *star"), "unclosed *star");
});

Deno.test("markdown: links are http, https or mailto only", () => {
  assertEquals(
    md("[the site](https://example.org/a?b=1&c=2)"),
    '<a href="https://example.org/a?b=1&amp;c=2">the site</a>',
  );
  assertEquals(md("[mail](mailto:a@example.org)"), '<a href="mailto:a@example.org">mail</a>');
  assertEquals(md("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
  assertEquals(
    md("see https://example.org/page."),
    'see <a href="https://example.org/page">https://example.org/page</a>.',
  );
  assertEquals(
    md("<https://example.org>"),
    '<a href="https://example.org">https://example.org</a>',
  );
  assertEquals(
    md("[**bold** link](https://e.org)"),
    '<a href="https://e.org"><strong>bold</strong> link</a>',
  );
});

Deno.test("markdown: raw HTML is escaped, never passed through", () => {
  assertEquals(
    md('<img src=x onerror="alert(1)"> & <b>'),
    "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;b&gt;",
  );
  assertEquals(renderMarkdown("a < b").plain, true);
});

Deno.test("markdown: blocks", () => {
  assertEquals(
    md("```ts\nconst a = 1 < 2;\n```"),
    '<pre><code class="language-ts">const a = 1 &lt; 2;\n</code></pre>',
  );
  assertEquals(md("> quoted\n> more"), "<blockquote>quoted<br />more</blockquote>");
  assertEquals(md("- one\n- two"), "<ul><li>one</li><li>two</li></ul>");
  assertEquals(md("* one\n  - nested"), "<ul><li>one<ul><li>nested</li></ul></li></ul>");
  assertEquals(md("1. first\n2. second"), "<ol><li>first</li><li>second</li></ol>");
  assertEquals(md("3. third\n4. fourth"), '<ol start="3"><li>third</li><li>fourth</li></ol>');
  assertEquals(md("para one\n\npara two"), "<p>para one</p><p>para two</p>");
  assertEquals(
    md("Intro:\n- **a**\n- b\n\nEnd"),
    "<p>Intro:</p><ul><li><strong>a</strong></li><li>b</li></ul><p>End</p>",
  );
  // Unclosed fences run to the end; deep quotes stop nesting without losing text.
  assertEquals(md("```\nopen"), "<pre><code>open\n</code></pre>");
  assert(md(">".repeat(200) + " deep").includes("deep"));
});

/** A tiny DOM-shaped tree for the sanitiser (the app hands it DOMParser's nodes). */
function el(
  name: string,
  attrs: Record<string, string>,
  ...children: HtmlNodeLike[]
): HtmlNodeLike {
  return {
    nodeType: 1,
    nodeName: name.toUpperCase(),
    nodeValue: null,
    childNodes: children,
    getAttribute: (key) => attrs[key] ?? null,
  };
}
function text(value: string): HtmlNodeLike {
  return { nodeType: 3, nodeName: "#text", nodeValue: value, childNodes: [] };
}
function comment(value: string): HtmlNodeLike {
  return { nodeType: 8, nodeName: "#comment", nodeValue: value, childNodes: [] };
}
const body = (...children: HtmlNodeLike[]) => el("body", {}, ...children);

Deno.test("sanitiser: keeps allowed tags, drops attributes that are not allowed", () => {
  assertEquals(
    sanitiseHtml(body(el("b", { onclick: "x()", style: "color:red" }, text("hi")), text(" there"))),
    [{ kind: "element", tag: "b", attrs: {}, children: ["hi"] }, " there"],
  );
  assertEquals(sanitiseHtml(body(el("ol", { start: "4", type: "a" }, el("li", {}, text("x"))))), [
    {
      kind: "element",
      tag: "ol",
      attrs: { start: "4" },
      children: [{ kind: "element", tag: "li", attrs: {}, children: ["x"] }],
    },
  ]);
  assertEquals(
    sanitiseHtml(body(el("code", { class: "language-rust" }, text("fn")))),
    [{ kind: "element", tag: "code", attrs: { class: "language-rust" }, children: ["fn"] }],
  );
  assertEquals(
    sanitiseHtml(body(el("code", { class: 'evil" onload' }, text("x")))),
    [{ kind: "element", tag: "code", attrs: {}, children: ["x"] }],
  );
});

Deno.test("sanitiser: scripts, styles and reply fallbacks go with their content", () => {
  assertEquals(
    sanitiseHtml(body(
      el("mx-reply", {}, el("blockquote", {}, text("old quote"))),
      el("script", {}, text("alert(1)")),
      el("style", {}, text("*{}")),
      el("iframe", { src: "https://e.org" }, text("frame")),
      comment("hidden"),
      text("answer"),
    )),
    ["answer"],
  );
});

Deno.test("sanitiser: unknown tags are unwrapped, images become their alt text", () => {
  assertEquals(
    sanitiseHtml(body(el("marquee", {}, text("moving "), el("i", {}, text("text"))))),
    ["moving ", { kind: "element", tag: "i", attrs: {}, children: ["text"] }],
  );
  assertEquals(
    sanitiseHtml(body(el("img", { src: "https://tracker.example/p.gif", alt: "cat" }))),
    ["cat"],
  );
});

Deno.test("sanitiser: links only to http, https and mailto; matrix.to people are mentions", () => {
  assertEquals(sanitiseHtml(body(el("a", { href: "javascript:alert(1)" }, text("click")))), [
    "click",
  ]);
  assertEquals(sanitiseHtml(body(el("a", { href: " data:text/html,x" }, text("d")))), ["d"]);
  assertEquals(
    sanitiseHtml(body(el("a", { href: "https://e.org/x", target: "_self" }, text("e")))),
    [
      { kind: "element", tag: "a", attrs: { href: "https://e.org/x" }, children: ["e"] },
    ],
  );
  const mention = sanitiseHtml(
    body(el("a", { href: "https://matrix.to/#/%40bob%3Alocalhost" }, text("Bob"))),
  );
  assertEquals(mention, [{ kind: "mention", userId: "@bob:localhost", text: "Bob" }]);
  assertEquals(mentionedUsers(mention), ["@bob:localhost"]);
  assertEquals(parsePermalink("https://matrix.to/#/!room:x/$event?via=x"), {
    kind: "room",
    roomIdOrAlias: "!room:x",
    eventId: "$event",
  });
  assertEquals(parsePermalink("https://example.org/#/@bob:x"), null);
});

Deno.test("sanitiser: inline styles and handlers are gone before the browser parses", () => {
  assertEquals(
    stripInlineAttributes(
      `<b style="color:red" class=x>a style="text"</b><img src=x onerror='alert(1)' ONLOAD=y alt="ok">`,
    ),
    `<b class=x>a style="text"</b><img src=x alt="ok">`,
  );
});

Deno.test("sanitiser: spoilers and deep nesting", () => {
  assertEquals(sanitiseHtml(body(el("span", { "data-mx-spoiler": "plot" }, text("he dies")))), [
    { kind: "spoiler", reason: "plot", children: ["he dies"] },
  ]);
  let deep: HtmlNodeLike = text("bottom");
  for (let i = 0; i < 10_000; i++) deep = el("div", {}, deep);
  const flat = JSON.stringify(sanitiseHtml(body(deep)));
  assert(flat.includes("bottom"), "the text survives");
});

Deno.test("content: a markdown message with a mention", () => {
  const message = composeMessage([
    { text: "Hi " },
    { mention: { userId: "@bob:localhost", name: "Bob [B]" } },
    { text: ", **look** at this" },
  ])!;
  assertEquals(message.body, "Hi Bob [B], **look** at this");
  assertEquals(
    message.html,
    'Hi <a href="https://matrix.to/#/@bob:localhost">Bob [B]</a>, <strong>look</strong> at this',
  );
  assertEquals(message.userIds, ["@bob:localhost"]);
  assertEquals(messageContent(message)["m.mentions"], { user_ids: ["@bob:localhost"] });
  assertEquals(composeMessage([{ text: "  \n " }]), null);
  const plain = composeMessage([{ text: "just text" }])!;
  assertEquals(messageContent(plain), { msgtype: "m.text", body: "just text", "m.mentions": {} });
  assertEquals(composeMessage([{ text: "/me waves" }])!.msgtype, "m.emote");
  assertEquals(composeMessage([{ text: "/me waves" }])!.body, "waves");
});

Deno.test("content: replies carry no fallback; threads fall back to a reply", () => {
  const message = composeMessage([{ text: "yes" }])!;
  assertEquals(messageContent(message, { replyTo: "$a" })["m.relates_to"], {
    "m.in_reply_to": { event_id: "$a" },
  });
  assertEquals(
    messageContent(message, {
      thread: { rootId: "$root", latestEventId: "$last" },
    })["m.relates_to"],
    {
      rel_type: "m.thread",
      event_id: "$root",
      is_falling_back: true,
      "m.in_reply_to": { event_id: "$last" },
    },
  );
  const threadReply = messageContent(message, { replyTo: "$b", thread: { rootId: "$root" } });
  assertEquals(threadReply["m.relates_to"], {
    rel_type: "m.thread",
    event_id: "$root",
    is_falling_back: false,
    "m.in_reply_to": { event_id: "$b" },
  });
  assertEquals(replyTarget(threadReply), "$b");
  assertEquals(
    replyTarget(messageContent(message, { thread: { rootId: "$root", latestEventId: "$x" } })),
    null,
  );
  assertEquals(stripReplyFallback("> <@a:x> original\n> more\n\nthe answer"), "the answer");
  assertEquals(stripReplyFallback("no fallback\n> quote later"), "no fallback\n> quote later");
});

Deno.test("content: edits and reactions", () => {
  const message = composeMessage([
    { text: "now **bold** for " },
    { mention: { userId: "@c:x", name: "C" } },
  ])!;
  const edit = editContent(message, "$orig", { previousUserIds: ["@c:x"] });
  assertEquals(edit.body, "* now **bold** for C");
  assertEquals(
    edit.formatted_body,
    '* now <strong>bold</strong> for <a href="https://matrix.to/#/@c:x">C</a>',
  );
  assertEquals(edit["m.relates_to"], { rel_type: "m.replace", event_id: "$orig" });
  assertEquals(edit["m.mentions"], {}, "people mentioned before are not notified again");
  const newContent = edit["m.new_content"] as Record<string, unknown>;
  assertEquals(newContent.body, "now **bold** for C");
  assertEquals(newContent["m.mentions"], { user_ids: ["@c:x"] });
  assertEquals(newContent["m.relates_to"], undefined);
  assertEquals(reactionContent("$e", "👍"), {
    "m.relates_to": { rel_type: "m.annotation", event_id: "$e", key: "👍" },
  });
  assertEquals(partsForEdit("hello Bob, and Bob", [{ userId: "@b:x", text: "Bob" }]), [
    { text: "hello " },
    { mention: { userId: "@b:x", name: "Bob" } },
    { text: ", and Bob" },
  ]);
});

Deno.test("layout: which events get tiles", () => {
  const base = { isState: false, redacted: false, undecryptable: false };
  assertEquals(tileKind({ ...base, type: "m.room.message" }), "message");
  assertEquals(tileKind({ ...base, type: "m.room.message", relType: "m.replace" }), "hidden");
  assertEquals(tileKind({ ...base, type: "m.reaction" }), "hidden");
  assertEquals(tileKind({ ...base, type: "org.matrix.msc3381.poll.response" }), "hidden");
  assertEquals(tileKind({ ...base, type: "m.poll.end" }), "hidden");
  assertEquals(tileKind({ ...base, type: "org.matrix.msc3381.poll.start" }), "poll");
  assertEquals(tileKind({ ...base, type: "m.call.invite" }), "call");
  assertEquals(tileKind({ ...base, type: "m.call.candidates" }), "hidden");
  assertEquals(tileKind({ ...base, type: "m.room.message", redacted: true }), "redacted");
  assertEquals(
    tileKind({ ...base, type: "m.room.encrypted", undecryptable: true }),
    "undecryptable",
  );
  const member = { ...base, isState: true, type: "m.room.member" };
  assertEquals(tileKind({ ...member, membership: "join", prevMembership: "invite" }), "state");
  assertEquals(tileKind({ ...member, membership: "join", prevMembership: "join" }), "hidden");
  assertEquals(tileKind({ ...base, isState: true, type: "m.room.power_levels" }), "hidden");
});

Deno.test("layout: day separators, sender groups, receipts moved up from hidden events", () => {
  const day = 24 * 60 * 60 * 1000;
  const t0 = Date.UTC(2025, 0, 1, 10);
  const events: LayoutEvent[] = [
    { id: "$1", sender: "@a:x", ts: t0, kind: "message" },
    { id: "$2", sender: "@a:x", ts: t0 + 60_000, kind: "message" },
    { id: "$r", sender: "@b:x", ts: t0 + 61_000, kind: "hidden" },
    { id: "$3", sender: "@a:x", ts: t0 + 60_000 + GROUP_WINDOW_MS + 1, kind: "message" },
    { id: "$4", sender: "@b:x", ts: t0 + 10 * 60_000, kind: "message" },
    { id: "$5", sender: "@b:x", ts: t0 + 10 * 60_000 + 1, kind: "state" },
    { id: "$6", sender: "@b:x", ts: t0 + day, kind: "message" },
  ];
  const rows = layoutTimeline(events, {
    dayOf: (ts) => String(Math.floor(ts / day)),
    receipts: new Map([["$r", ["@c:x"]], ["$4", ["@a:x"]]]),
  });
  assertEquals(
    rows.map((row) =>
      row.type === "day"
        ? "day"
        : `${row.key}${row.continuation ? "+" : ""}${row.readers.length ? `(${row.readers})` : ""}`
    ),
    ["day", "$1", "$2+(@c:x)", "$3", "$4(@a:x)", "$5", "day", "$6"],
  );
});
