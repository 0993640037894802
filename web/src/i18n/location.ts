/**
 * Messages of location sharing and maps.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of location sharing and maps, in every language. */
export const locationMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
