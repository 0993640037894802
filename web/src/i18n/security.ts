/**
 * Messages of cross-signing, verification and key backup.
 *
 * @module
 */

import type { FeatureMessages } from "./feature.ts";

const en = {} as const;

/** Messages of cross-signing, verification and key backup, in every language. */
export const securityMessages: FeatureMessages<typeof en> = { en, fr: {}, de: {}, lb: {} };
