/**
 * Times and days in the reader's language (a message's time, the day separators "Today",
 * "Yesterday" and the full date), from the app's formatting module, and initials for
 * read-receipt marks.
 *
 * @module
 */

export { formatDateTime, formatDay, formatTime } from "../../i18n/format.ts";

/** One or two letters for a name (the read-receipt marks). */
export function initials(name: string): string {
  // A bare Matrix ID gives one letter, its user's first.
  const words = name.startsWith("@") ? [name.slice(1)] : name.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [words[0] ?? "?"];
  return letters.map((word) => [...word][0]?.toLocaleUpperCase() ?? "").join("");
}
