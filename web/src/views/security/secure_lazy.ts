/**
 * The lazily loaded parts of secure messaging on the conversations screen, in one chunk: the
 * first-sign-in prompt and the explanation behind a message's mark share their messages and
 * dialogs, and one chunk compresses better than several small ones.
 *
 * @module
 */

export { SecurePrompt } from "./secure_prompt.tsx";
export { ShieldDetails } from "./shield_details.tsx";
