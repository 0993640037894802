/**
 * One-to-one calls in two real Chromium browsers (fake camera and microphone) against a real
 * server: alice video-calls bob, bob's app rings, he accepts, both connect over WebRTC
 * (loopback host candidates, no TURN), see each other's video playing, toggle the microphone
 * and the camera, and alice hangs up; then a voice call that bob declines.
 */

import type { Page } from "playwright-core";
import { startTestServer, type TestServer, type TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { type BrowserSession, launchBrowser } from "./chromium.ts";
import {
  browserTestsNamed,
  clickThrough,
  openWatchedPage,
  signIn as signInThroughForm,
  untilWithin,
} from "./session_support.ts";
import { createDirectChat, setDisplayName } from "./room_support.ts";

const TIMEOUT = 20_000;
const browserTest = browserTestsNamed("web calls: ");
const until = untilWithin({ timeoutMs: TIMEOUT, intervalMs: 100 });

interface Person {
  user: TestUser;
  name: string;
  browser: BrowserSession;
  page: Page;
  errors: string[];
}

async function signIn(server: TestServer, person: Person): Promise<void> {
  const { page } = person;
  const turn = page.waitForResponse((res) => res.url().includes("/voip/turnServer"));
  await signInThroughForm(page, server, person.user);
  // The client asks the server for TURN servers when it starts (none configured: `{}`).
  assertEquals((await turn).status(), 200);
}

/** Two signed-in people in a room of their own, each in their own browser. */
async function withCallers(
  options: { encrypted: boolean },
  fn: (alice: Person, bob: Person, server: TestServer, roomId: string) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({
    config: { e2ee: { default_for: options.encrypted ? "all" : "off" } },
  });
  const people: Person[] = [];
  try {
    const users = [await server.register("alice"), await server.register("bob")];
    await setDisplayName(server, users[0], "Alice");
    await setDisplayName(server, users[1], "Bob");
    const roomId = await createDirectChat(server, users[0], users[1], { name: "Alice and Bob" });

    for (const [user, name] of [[users[0], "Alice"], [users[1], "Bob"]] as const) {
      const browser = await launchBrowser({ fakeMedia: true });
      const { page, errors } = await openWatchedPage(browser.context, {
        timeoutMs: TIMEOUT,
        label: name,
        csp: true,
      });
      people.push({ user, name, browser, page, errors });
    }
    const [alice, bob] = people;
    await Promise.all([signIn(server, alice), signIn(server, bob)]);
    await fn(alice, bob, server, roomId);
    assertEquals(people.flatMap((p) => p.errors), [], "no page errors or CSP violations");
  } finally {
    await Promise.all(people.map((p) => p.browser.close()));
    await server.close();
  }
}

async function openRoom(person: Person): Promise<void> {
  await clickThrough(
    person.page.getByRole("link", { name: "Alice and Bob" }),
    person.page.getByRole("heading", { name: "Alice and Bob" }),
  );
}

/**
 * Polls `expression` in the page until it is truthy. (page.waitForFunction evaluates its
 * predicate with eval, which the app's CSP forbids; page.evaluate goes through DevTools.)
 */
function waitUntil(page: Page, expression: string, what: string): Promise<void> {
  return until(what, async () => Boolean(await page.evaluate(expression)));
}

/** Waits until the labelled video plays frames from the fake camera. */
async function videoPlays(page: Page, label: string): Promise<void> {
  await page.getByLabel(label).waitFor();
  await waitUntil(
    page,
    `(() => {
      const video = document.querySelector('video[aria-label="${label}"]');
      return !!video && !video.paused && video.videoWidth > 0 && video.readyState >= 2;
    })()`,
    `${label} to play`,
  );
}

async function roomEventTypes(server: TestServer, person: Person, roomId: string) {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
    { token: person.user.accessToken },
  );
  assertEquals(res.status, 200);
  return (res.body.chunk as { type: string }[]).map((event) => event.type);
}

async function videoCallThenDecline(
  alice: Person,
  bob: Person,
  server: TestServer,
  roomId: string,
  options: { encrypted: boolean },
): Promise<void> {
  await openRoom(alice);
  await openRoom(bob);

  // Alice calls; bob's app rings wherever he is.
  await alice.page.getByRole("button", { name: "Video call" }).click();
  const aliceCall = alice.page.getByRole("region", { name: "Call with Bob" });
  await aliceCall.waitFor();
  const ringing = bob.page.getByRole("alertdialog", { name: "Incoming video call" });
  await ringing.waitFor();
  await ringing.getByText("Alice is calling you").waitFor();
  assertEquals(
    await bob.page.evaluate("document.activeElement?.textContent"),
    "Accept",
    "the ringing dialog takes the focus",
  );
  await ringing.getByRole("button", { name: "Accept with video" }).click();

  // Connected on both sides: the duration runs and each sees the other's camera.
  const bobCall = bob.page.getByRole("region", { name: "Call with Alice" });
  await bobCall.getByRole("timer", { name: "Call duration" }).waitFor();
  await aliceCall.getByRole("timer", { name: "Call duration" }).waitFor();
  await videoPlays(bob.page, "Camera of Alice");
  await videoPlays(alice.page, "Camera of Bob");
  await videoPlays(alice.page, "Your camera");
  for (const person of [alice, bob]) {
    assertEquals(
      await person.page.evaluate("document.activeElement?.closest('section')?.ariaLabel"),
      `Call with ${person === alice ? "Bob" : "Alice"}`,
      `${person.name}'s keyboard focus moved into the call`,
    );
  }

  // Microphone: the button says what it will do next.
  await aliceCall.getByRole("button", { name: "Mute microphone" }).click();
  await aliceCall.getByRole("button", { name: "Unmute microphone" }).waitFor();
  await aliceCall.getByText("Your microphone is muted").waitFor();
  await aliceCall.getByRole("button", { name: "Unmute microphone" }).click();
  await aliceCall.getByRole("button", { name: "Mute microphone" }).waitFor();

  // Camera off reaches bob (the SDK tells him through stream metadata); on again, video plays.
  await aliceCall.getByRole("button", { name: "Turn camera off" }).click();
  await aliceCall.getByRole("button", { name: "Turn camera on" }).waitFor();
  await bobCall.getByText("Alice has the camera off").waitFor();
  assertEquals(await alice.page.getByLabel("Your camera").count(), 0);
  await aliceCall.getByRole("button", { name: "Turn camera on" }).click();
  await aliceCall.getByRole("button", { name: "Turn camera off" }).waitFor();
  await videoPlays(bob.page, "Camera of Alice");

  // The duration counts up.
  await waitUntil(
    bob.page,
    `document.querySelector('[role="timer"]')?.textContent !== "0:00"`,
    "the duration to count",
  );

  // Alice hangs up: both panels close and both hear how long it lasted.
  await aliceCall.getByRole("button", { name: "Hang up" }).click();
  await aliceCall.waitFor({ state: "detached" });
  await bobCall.waitFor({ state: "detached" });
  await alice.page.getByRole("status").getByText(/^Call with Bob ended, \d+:\d\d$/).waitFor();
  await bob.page.getByRole("status").getByText(/^Call with Alice ended, \d+:\d\d$/).waitFor();
  assertEquals(await bob.page.locator("video").count(), 0, "the media elements are gone");

  // A voice call that bob declines: alice is told.
  await bob.page.getByRole("button", { name: "Close" }).click();
  await alice.page.getByRole("button", { name: "Voice call" }).click();
  await alice.page.getByRole("region", { name: "Call with Bob" }).getByText("Calling Bob…")
    .waitFor();
  const voiceRing = bob.page.getByRole("alertdialog", { name: "Incoming voice call" });
  await voiceRing.waitFor();
  assertEquals(await voiceRing.getByRole("button", { name: "Accept with video" }).count(), 0);
  await voiceRing.getByRole("button", { name: "Decline" }).click();
  await voiceRing.waitFor({ state: "detached" });
  await alice.page.getByRole("status").getByText("Bob declined the call").waitFor();
  await alice.page.getByRole("region", { name: "Call with Bob" }).waitFor({ state: "detached" });

  // What went over the wire: call events (encrypted as m.room.encrypted in an encrypted room).
  const types = await roomEventTypes(server, alice, roomId);
  if (options.encrypted) {
    assert(!types.some((type) => type.startsWith("m.call.")), `no plaintext call: ${types}`);
  } else {
    for (const type of ["m.call.invite", "m.call.answer", "m.call.hangup", "m.call.reject"]) {
      assert(types.includes(type), `${type} in ${types}`);
    }
  }

  // The timeline keeps both calls, decrypted in the encrypted room.
  await alice.page.getByText("Alice started a video call").waitFor();
  await bob.page.getByText(/^Video call ended, \d+:\d\d$/).waitFor();
  await alice.page.getByText("Bob declined the voice call").waitFor();
  await bob.page.getByText("Alice started a voice call").waitFor();
}

browserTest(
  "video call: ring, accept, media both ways, mute, hang up; a declined call",
  async () => {
    await withCallers(
      { encrypted: false },
      (alice, bob, server, roomId) =>
        videoCallThenDecline(alice, bob, server, roomId, { encrypted: false }),
    );
  },
);

browserTest("the same in an encrypted room", async () => {
  await withCallers(
    { encrypted: true },
    (alice, bob, server, roomId) =>
      videoCallThenDecline(alice, bob, server, roomId, { encrypted: true }),
  );
});
