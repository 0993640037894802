/**
 * The spaces chunk's messages in the app's language, for its views.
 *
 * @module
 */

import type { MessageParams } from "../../i18n/index.ts";
import { type SpacesKey, spacesText } from "../../i18n/spaces.ts";
import { useApp } from "../context.ts";

/** A lookup of the spaces messages in the current language (re-renders when it changes). */
export function useSpacesText(): (key: SpacesKey, params?: MessageParams) => string {
  const locale = useApp().i18n.locale.value;
  return (key, params) => spacesText(locale, key, params);
}
