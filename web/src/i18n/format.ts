/**
 * Dates, times, sizes, numbers and lists in the app's language, all through `Intl`, and the
 * French elision of words before an inserted name.
 *
 * Luxembourgish needs care: the ICU data of Chromium and Deno has no `lb` locale (their
 * `Intl.DateTimeFormat("lb")` resolves to `en-US`, so "Today", "Sunday, December 6" and "2:03
 * PM"). Where the runtime lacks `lb`, numbers, times and numeric dates follow `de-LU`, the
 * conventions of Luxembourg (`1,5 MB`, `14:03`, `06.12.2026`), and the words `Intl` would give
 * in English (day and month names, "today", "yesterday", "and") come from the tables below.
 *
 * @module
 */

/** Where the runtime has no `lb` data: the locale whose numbers and times Luxembourg uses. */
const LUXEMBOURG_FORMATS = "de-LU";

const LB_WEEKDAYS = [
  "Sonndeg",
  "Méindeg",
  "Dënschdeg",
  "Mëttwoch",
  "Donneschdeg",
  "Freideg",
  "Samschdeg",
] as const;

const LB_MONTHS = [
  "Januar",
  "Februar",
  "Mäerz",
  "Abrëll",
  "Mee",
  "Juni",
  "Juli",
  "August",
  "September",
  "Oktober",
  "November",
  "Dezember",
] as const;

const LB_TODAY = "Haut";
const LB_YESTERDAY = "Gëschter";
const LB_AND = "an";

let nativeLb: boolean | undefined;

/** Whether this runtime's `Intl` knows Luxembourgish (checked once). */
export function hasNativeLuxembourgish(): boolean {
  nativeLb ??= Intl.DateTimeFormat.supportedLocalesOf(["lb"]).length > 0 &&
    Intl.RelativeTimeFormat.supportedLocalesOf(["lb"]).length > 0 &&
    Intl.ListFormat.supportedLocalesOf(["lb"]).length > 0;
  return nativeLb;
}

function emulateLb(locale: string): boolean {
  return locale === "lb" && !hasNativeLuxembourgish();
}

/**
 * The locale to hand to `Intl` for the app's language `locale`: the browser's own tag when it
 * is a variant of that language (`en-GB`, `fr-LU`), so times and dates follow the reader's
 * region; for Luxembourgish without runtime data, `de-LU`.
 */
export function intlLocale(locale: string): string {
  if (emulateLb(locale)) return LUXEMBOURG_FORMATS;
  const languages = typeof navigator === "undefined" ? [] : navigator.languages ?? [];
  return languages.find((tag) => tag.toLowerCase().split("-")[0] === locale) ?? locale;
}

/** The time of day of `ts` ("14:03", "2:03 PM"). */
export function formatTime(locale: string, ts: number): string {
  return new Intl.DateTimeFormat(intlLocale(locale), { timeStyle: "short" }).format(ts);
}

/** The date and time of `ts`, in full (tooltips, the edit history, a device's last use). */
export function formatDateTime(locale: string, ts: number): string {
  // Luxembourg's medium date is numeric (06.12.2026), so de-LU gives no German words.
  return new Intl.DateTimeFormat(intlLocale(locale), {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(ts);
}

function startOfDay(ts: number): number {
  const date = new Date(ts);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

function capitalize(text: string, locale: string): string {
  return text.charAt(0).toLocaleUpperCase(locale) + text.slice(1);
}

/**
 * A day separator's text: today, yesterday, or the weekday and date (with the year when not
 * this one's).
 */
export function formatDay(locale: string, ts: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  if (emulateLb(locale)) {
    if (days === 0) return LB_TODAY;
    if (days === 1) return LB_YESTERDAY;
    const date = new Date(ts);
    const day = `${LB_WEEKDAYS[date.getDay()]}, ${date.getDate()}. ${LB_MONTHS[date.getMonth()]}`;
    return sameYear ? day : `${day} ${date.getFullYear()}`;
  }
  if (days === 0 || days === 1) {
    const text = new Intl.RelativeTimeFormat(intlLocale(locale), { numeric: "auto" })
      .format(-days, "day");
    return capitalize(text, locale);
  }
  return new Intl.DateTimeFormat(intlLocale(locale), {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: sameYear ? undefined : "numeric",
  }).format(ts);
}

/** A number ("1 234", "1.234", "1,234" as the language writes it). */
export function formatNumber(
  locale: string,
  value: number,
  options?: Intl.NumberFormatOptions,
): string {
  return new Intl.NumberFormat(intlLocale(locale), options).format(value);
}

/** A fraction (0 to 1) as a percentage ("45 %", "45%"). */
export function formatPercent(locale: string, fraction: number): string {
  return formatNumber(locale, fraction, { style: "percent" });
}

/** A byte count in the user's language ("594 B", "594 Byte", "1,5 Mo"), in powers of 1000. */
export function formatBytes(locale: string, bytes: number): string {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return formatNumber(locale, value, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  });
}

/** Names joined as a sentence says them ("Anna, Ben an Carla"). */
export function formatList(locale: string, items: readonly string[]): string {
  if (emulateLb(locale)) {
    if (items.length <= 1) return items.join("");
    return `${items.slice(0, -1).join(", ")} ${LB_AND} ${items[items.length - 1]}`;
  }
  return new Intl.ListFormat(intlLocale(locale), { type: "conjunction" }).format(items);
}

/** Words French elides before a vowel or mute h (`de Anna` -> `d’Anna`). */
const ELIDING = /\b(de|que|le|la|ne|je|jusque|lorsque|puisque) \{(\w+)\}/gi;

/** A vowel, or an h followed by one (taken as mute: names like Hélène, Hugo). */
const ELIDED_START = /^(?:[aeiouyàâäéèêëîïôöùûüÿæœ]|h[aeiouyàâäéèêëîïôöùûüÿæœ])/i;

/**
 * A French message template with the words before a placeholder elided when the value put
 * there starts with a vowel or mute h ("Position de {name}" with Anna -> "Position d’{name}").
 * Values that are Matrix IDs (`@anna:…`) or numbers keep the full word.
 */
export function elideFrench(
  template: string,
  params: Readonly<Record<string, string | number>>,
): string {
  return template.replace(ELIDING, (whole, word: string, name: string) => {
    const value = params[name];
    if (typeof value !== "string" || !ELIDED_START.test(value)) return whole;
    return `${word.slice(0, -1)}’{${name}}`;
  });
}

/**
 * When something happened, as short as a list row wants it: the time today, the weekday in
 * the last six days, else the date in numbers (with the year when not this one's).
 */
export function formatRecent(locale: string, ts: number, now = Date.now()): string {
  const days = Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
  if (days <= 0) return formatTime(locale, ts);
  if (days < 7) {
    if (emulateLb(locale)) return LB_WEEKDAYS[new Date(ts).getDay()];
    return new Intl.DateTimeFormat(intlLocale(locale), { weekday: "short" }).format(ts);
  }
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  return new Intl.DateTimeFormat(
    intlLocale(locale),
    sameYear ? { day: "numeric", month: "numeric" } : { dateStyle: "short" },
  ).format(ts);
}
