/**
 * Messages of polls.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of polls, in every language. */
export const pollsMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
