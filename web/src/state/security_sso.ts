/**
 * User-interactive auth for accounts of single sign-on (no password): the server's `m.login.sso`
 * fallback page opens in a window of its own, where the person confirms at their identity
 * provider; when the page reports "authDone", the request is sent again with only the session.
 * Its own chunk, loaded by security_password.ts when the server offers this stage.
 *
 * @module
 */

import type { AuthDict } from "matrix-js-sdk";
import type { PasswordPrompt } from "./security_password.ts";

/** The channel the server's confirmation page reports on (server/auth/sso_pages.ts). */
const UIA_CHANNEL = "gemeng-uia";

/**
 * Opens the fallback page and calls `done` once it reports. This page isolates itself
 * (Cross-Origin-Opener-Policy), so after the provider's pages the window is no longer its
 * popup: the server's page also reports on a BroadcastChannel of the origin.
 */
function openConfirmation(url: string, done: () => void): void {
  const origin = new URL(url).origin;
  const popup = globalThis.open(url, "_blank", "popup,width=520,height=680");
  const channel = new BroadcastChannel(UIA_CHANNEL);
  const listener = (event: MessageEvent) => {
    if (event.data !== "authDone" || event.origin !== origin) return;
    globalThis.removeEventListener("message", listener);
    channel.close();
    popup?.close();
    done();
  };
  globalThis.addEventListener("message", listener);
  channel.onmessage = listener;
}

/**
 * Runs the confirmation until the server accepts the session or the person cancels (the
 * prompt's {@link PasswordPrompt.cancel} rejects with its `PasswordCancelled`).
 */
export async function confirmAtProvider<T>(
  prompt: PasswordPrompt,
  options: {
    session: string;
    homeserverUrl: string;
    makeRequest: (auth: AuthDict | null) => Promise<T>;
    /** Whether an error is the server's 401 challenge (the stage is not done). */
    isChallenge: (err: unknown) => boolean;
  },
): Promise<T> {
  const url = `${options.homeserverUrl}/_matrix/client/v3/auth/m.login.sso/fallback/web` +
    `?session=${encodeURIComponent(options.session)}`;
  let failed = false;
  try {
    for (;;) {
      await prompt.waitForSso(url, { failed, open: openConfirmation });
      try {
        // The fallback completed the stage on the server: only the session is sent.
        return await options.makeRequest({ session: options.session } as AuthDict);
      } catch (err) {
        if (!options.isChallenge(err)) throw err;
        failed = true;
      }
    }
  } finally {
    prompt.settle();
  }
}
