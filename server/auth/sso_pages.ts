/**
 * The few HTML pages of SSO sign-in that the server itself shows: choosing a provider, the
 * confirmation before handing a session to a client at an unknown address, and errors. Plain,
 * script-free HTML; every value is escaped.
 *
 * @module
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Headers of every SSO page: no scripts, no framing, not cached. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "X-Frame-Options": "DENY",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
a.button{display:inline-block;margin:.25rem 0;padding:.6rem 1rem;border-radius:.5rem;background:#0369a1;color:#fff;text-decoration:none}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** The page asking whether to hand the session to a client at another address. */
export function confirmPage(options: { target: string; host: string; serverName: string }): string {
  return page(
    "Continue to your app?",
    `<p>You signed in to <strong>${escapeHtml(options.serverName)}</strong>. The app at
<strong>${escapeHtml(options.host)}</strong> asked for access to your account.</p>
<p>Continue only if you started this sign-in from that app.</p>
<p><a class="button" href="${escapeHtml(options.target)}">Continue to ${
      escapeHtml(options.host)
    }</a></p>`,
  );
}

/** The page listing the providers when the client did not choose one. */
export function pickerPage(providers: { name: string; href: string }[]): string {
  const items = providers.map((p) =>
    `<li><a class="button" href="${escapeHtml(p.href)}">${escapeHtml(p.name)}</a></li>`
  ).join("");
  return page("Sign in", `<ul style="list-style:none;padding:0">${items}</ul>`);
}

/** The BroadcastChannel on which the fallback page also reports "authDone" (the web app). */
export const UIA_CHANNEL = "gemeng-uia";

/**
 * The end of the SSO fallback of user-interactive auth: tells the client (the spec's
 * `window.onAuthDone()` or a message "authDone" to the opener, and {@link UIA_CHANNEL}) with a
 * script allowed by `nonce`.
 */
export function confirmedPage(nonce: string): string {
  return page(
    "Confirmed",
    `<p>Thank you. You can close this window and go back to your app.</p>
<script nonce="${escapeHtml(nonce)}">
if (window.onAuthDone) window.onAuthDone();
else if (window.opener && window.opener.postMessage) window.opener.postMessage("authDone", "*");
// An app whose page isolates itself (Cross-Origin-Opener-Policy) loses this window as its
// opener after the provider's pages: tell it on a channel of the origin instead.
try { new BroadcastChannel("${UIA_CHANNEL}").postMessage("authDone"); window.close(); } catch (e) {}
</script>`,
  );
}

/** An error page. */
export function errorPage(message: string): string {
  return page("Sign-in failed", `<p>${escapeHtml(message)}</p>`);
}
