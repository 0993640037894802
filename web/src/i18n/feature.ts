/**
 * A feature's messages in the four languages. Each feature of the app keeps its strings in a
 * file of its own (`timeline.ts`, `files.ts`, ...), with English as the reference: the other
 * languages must have exactly its keys. The catalogues (`en.ts`, `fr.ts`, ...) merge them.
 *
 * @module
 */

/** English messages of a feature, and the same keys in French, German and Luxembourgish. */
export interface FeatureMessages<T extends Readonly<Record<string, string>>> {
  en: T;
  fr: Readonly<Record<keyof T, string>>;
  de: Readonly<Record<keyof T, string>>;
  lb: Readonly<Record<keyof T, string>>;
}
