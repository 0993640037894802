/**
 * Messages of the timeline and composer.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of the timeline and composer, in every language. */
export const timelineMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
