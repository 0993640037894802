/**
 * Messages of voice and video calls.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of voice and video calls, in every language. */
export const callsMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
