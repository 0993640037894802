/**
 * Screen sharing in a one-to-one video call, in two Chromium browsers with fake camera,
 * microphone and screen capture against a real server: alice shares her screen, bob's app
 * shows it as a video of its own (the SDK's `m.screenshare` feed, larger than the camera's,
 * which goes on playing) while alice sees that she is sharing; she stops and bob's screen video goes,
 * the camera call going on; then bob shares and stops from his side.
 */

import type { Page } from "playwright-core";
import { startTestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { type BrowserSession, launchBrowser } from "./chromium.ts";
import { violations } from "./axe.ts";
import { browserTest, clickThrough, submitSignIn, untilWithin } from "./session_support.ts";
import { createDirectChat, setDisplayName } from "./room_support.ts";

const TIMEOUT = 20_000;
const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

/** Polls `expression` in the page (the CSP forbids the eval of page.waitForFunction). */
function waitUntil(page: Page, expression: string, what: string): Promise<void> {
  return until(what, async () => Boolean(await page.evaluate(expression)));
}

/** The size of the labelled video once it plays frames, e.g. "1280x720". */
async function playingSize(page: Page, label: string): Promise<string> {
  const video = `document.querySelector('video[aria-label="${label}"]')`;
  await waitUntil(
    page,
    `(() => { const v = ${video}; return !!v && !v.paused && v.videoWidth > 0 && v.readyState >= 2; })()`,
    `${label} to play`,
  );
  return await page.evaluate(
    `(() => { const v = ${video}; return v.videoWidth + "x" + v.videoHeight; })()`,
  );
}

/** The width of a "WxH" size. */
function width(size: string): number {
  return Number(size.split("x")[0]);
}

browserTest("web calls: screen sharing both ways in a video call, and stopping it", async () => {
  const server = await startTestServer({ config: { e2ee: { default_for: "off" } } });
  const browsers: BrowserSession[] = [];
  const errors: string[] = [];
  try {
    const alice = await server.register("alice");
    const bob = await server.register("bob");
    await setDisplayName(server, alice, "Alice");
    await setDisplayName(server, bob, "Bob");
    await createDirectChat(server, alice, bob, { name: "Alice and Bob" });

    const pages: Page[] = [];
    for (const [user, name] of [[alice, "alice"], [bob, "bob"]] as const) {
      const browser = await launchBrowser({ fakeMedia: true });
      browsers.push(browser);
      const page = await browser.context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
      await submitSignIn(page, server, user);
      await clickThrough(
        page.getByRole("link", { name: "Alice and Bob" }),
        page.getByRole("heading", { name: "Alice and Bob" }),
      );
      pages.push(page);
    }
    const [alicePage, bobPage] = pages;

    await alicePage.getByRole("button", { name: "Video call" }).click();
    await bobPage.getByRole("alertdialog", { name: "Incoming video call" })
      .getByRole("button", { name: "Accept with video" }).click();
    const aliceCall = alicePage.getByRole("region", { name: "Call with Bob" });
    const bobCall = bobPage.getByRole("region", { name: "Call with Alice" });
    await aliceCall.getByRole("timer", { name: "Call duration" }).waitFor();
    await bobCall.getByRole("timer", { name: "Call duration" }).waitFor();
    const camera = await playingSize(bobPage, "Camera of Alice");

    // Alice shares: bob gets a second video, the screen, at the fake screen's size.
    const share = aliceCall.getByRole("button", { name: "Share your screen" });
    await share.click();
    const stop = aliceCall.getByRole("button", { name: "Stop sharing your screen" });
    await stop.waitFor();
    await aliceCall.getByRole("status").getByText("You are sharing your screen").waitFor();
    const screen = await playingSize(bobPage, "Screen shared by Alice");
    // A second stream beside the camera's: the fake screen is larger (WebRTC may scale it).
    assert(width(screen) > width(camera), `screen ${screen}, camera ${camera}`);
    assertEquals(await playingSize(bobPage, "Camera of Alice"), camera);
    assertEquals(await alicePage.locator("video[data-screen-feed]").count(), 0);
    assertEquals(await violations(alicePage), []);
    assertEquals(await violations(bobPage), []);

    // She stops: the screen goes on bob's side, the call and the camera go on.
    await stop.click();
    await share.waitFor();
    await bobPage.getByLabel("Screen shared by Alice").waitFor({ state: "detached" });
    await aliceCall.getByText("You are sharing your screen").waitFor({ state: "detached" });
    await playingSize(bobPage, "Camera of Alice");

    // The other way round.
    await bobCall.getByRole("button", { name: "Share your screen" }).click();
    const bobsScreen = await playingSize(alicePage, "Screen shared by Bob");
    assert(width(bobsScreen) > width(camera), bobsScreen);
    await bobCall.getByRole("button", { name: "Stop sharing your screen" }).click();
    await alicePage.getByLabel("Screen shared by Bob").waitFor({ state: "detached" });

    await aliceCall.getByRole("button", { name: "Hang up" }).click();
    await bobCall.waitFor({ state: "detached" });
    assertEquals(errors, []);
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
    await server.close();
  }
});
