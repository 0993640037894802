/**
 * The composer's editable element and the model's {@link ComposerPart}s, both ways: reading
 * text, line breaks and mention pills out of the element, writing parts into it, the `@` query
 * at the caret, and putting a pill in its place.
 *
 * @module
 */

import type { ComposerPart } from "../../matrix/message_content.ts";

/** Classes of a mention pill in the composer. */
const PILL_CLASS =
  "inline-block rounded-full bg-sky-100 px-2 font-semibold text-sky-900 dark:bg-sky-900 dark:text-sky-100";

/** The parts the editable element holds. */
export function readParts(root: HTMLElement): ComposerPart[] {
  const parts: ComposerPart[] = [];
  let text = "";
  const flush = () => {
    if (text) parts.push({ text: text.replace(/\u00a0/g, " ") });
    text = "";
  };
  const walk = (node: Node) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        text += (child as Text).data;
        continue;
      }
      if (!(child instanceof HTMLElement)) continue;
      const userId = child.dataset.mention;
      if (userId) {
        flush();
        parts.push({ mention: { userId, name: child.textContent ?? userId } });
      } else if (child.tagName === "BR") {
        // The browser keeps a last <br> so an empty last line has height; it is no text.
        if (child !== root.lastChild) text += "\n";
      } else if (child.tagName === "DIV" || child.tagName === "P") {
        if (text || parts.length) text += "\n";
        walk(child);
      } else {
        walk(child);
      }
    }
  };
  walk(root);
  flush();
  return parts;
}

/** A mention pill element. */
export function pillElement(userId: string, name: string): HTMLElement {
  const pill = document.createElement("span");
  pill.contentEditable = "false";
  pill.dataset.mention = userId;
  pill.className = PILL_CLASS;
  pill.textContent = name;
  return pill;
}

/** Replaces the element's content with `parts`. */
export function writeParts(root: HTMLElement, parts: readonly ComposerPart[]): void {
  root.replaceChildren();
  for (const part of parts) {
    if ("mention" in part) {
      root.append(pillElement(part.mention.userId, part.mention.name));
      continue;
    }
    part.text.split("\n").forEach((line, index) => {
      if (index > 0) root.append(document.createElement("br"));
      if (line) root.append(document.createTextNode(line));
    });
  }
  if (root.lastChild instanceof HTMLBRElement) root.append(document.createElement("br"));
}

/** Puts the caret at the end of the element. */
export function caretToEnd(root: HTMLElement): void {
  const selection = root.ownerDocument.getSelection();
  if (!selection) return;
  const range = root.ownerDocument.createRange();
  range.selectNodeContents(root);
  range.collapse(false);
  selection.removeAllRanges();
  selection.addRange(range);
}

const QUERY = /(?:^|\s)@([^\s@]{0,40})$/;

/** The text typed after an `@` right before the caret, or null. */
export function mentionQueryAtCaret(root: HTMLElement): string | null {
  const selection = root.ownerDocument.getSelection();
  const node = selection?.anchorNode;
  if (!selection?.isCollapsed || !node || node.nodeType !== Node.TEXT_NODE) return null;
  if (!root.contains(node)) return null;
  const before = (node as Text).data.slice(0, selection.anchorOffset).replace(/\u00a0/g, " ");
  return QUERY.exec(before)?.[1] ?? null;
}

/** Replaces the `@query` before the caret with a pill and a space; false when none is there. */
export function insertPill(root: HTMLElement, userId: string, name: string): boolean {
  const doc = root.ownerDocument;
  const selection = doc.getSelection();
  const node = selection?.anchorNode;
  if (!selection || !node || node.nodeType !== Node.TEXT_NODE || !root.contains(node)) return false;
  const offset = selection.anchorOffset;
  const before = (node as Text).data.slice(0, offset);
  const match = /@[^\s@]*$/.exec(before);
  if (!match) return false;
  const range = doc.createRange();
  range.setStart(node, offset - match[0].length);
  range.setEnd(node, offset);
  range.deleteContents();
  const space = doc.createTextNode(" ");
  range.insertNode(space);
  range.insertNode(pillElement(userId, name));
  range.setStartAfter(space);
  range.collapse(true);
  selection.removeAllRanges();
  selection.addRange(range);
  return true;
}
