/**
 * Times and days in the reader's language: a message's time, the day separators ("Today",
 * "Yesterday", then the full date), and initials for read-receipt marks.
 *
 * @module
 */

/**
 * The browser's own language tag when it is a variant of the app's language (`en-GB`, `fr-LU`),
 * so times and dates follow the reader's region; otherwise the app's language.
 */
export function regionalLocale(locale: string): string {
  const languages = typeof navigator === "undefined" ? [] : navigator.languages ?? [];
  return languages.find((tag) => tag.toLowerCase().split("-")[0] === locale) ?? locale;
}

/** The time of day of `ts` ("14:03", "2:03 PM"). */
export function formatTime(locale: string, ts: number): string {
  return new Intl.DateTimeFormat(regionalLocale(locale), { timeStyle: "short" }).format(ts);
}

/** The date and time of `ts`, in full (tooltips, the edit history). */
export function formatDateTime(locale: string, ts: number): string {
  return new Intl.DateTimeFormat(regionalLocale(locale), {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(ts);
}

function startOfDay(ts: number): number {
  const date = new Date(ts);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

/** A day separator's text: today, yesterday, or the date (with the year when not this one). */
export function formatDay(locale: string, ts: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
  if (days === 0 || days === 1) {
    const text = new Intl.RelativeTimeFormat(locale, { numeric: "auto" }).format(-days, "day");
    return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
  }
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat(regionalLocale(locale), {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: sameYear ? undefined : "numeric",
  }).format(ts);
}

/** One or two letters for a name (the read-receipt marks). */
export function initials(name: string): string {
  // A bare Matrix ID gives one letter, its user's first.
  const words = name.startsWith("@") ? [name.slice(1)] : name.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [words[0] ?? "?"];
  return letters.map((word) => [...word][0]?.toLocaleUpperCase() ?? "").join("");
}
