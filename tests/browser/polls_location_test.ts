/**
 * Polls and location sharing in the web app, in headless Chromium against a real server, with
 * two people in two browsers: a poll is created, voted on, a vote changed and the poll ended,
 * with the results on both sides (an open poll in a plain room, a closed one in an encrypted
 * room); a location is shared from a stubbed position and shown on a map whose tiles come from
 * a local tile server (set through `[web] map_tile_url`), a pin is placed with the mouse and the
 * keyboard, and when tiles fail a message and the coordinates stand in for the map.
 */

import type { Locator, Page } from "playwright-core";
import { encode as encodePng } from "fast-png";
import type { TestServer, TestUser } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { launchBrowser } from "./chromium.ts";
import { createRoomOfTwo } from "./room_support.ts";
import {
  type BrowserPerson,
  browserTestsNamed,
  clickThrough,
  localpartOf,
  openWatchedPage,
  signIn as signInThroughForm,
  withAliceAndBob,
} from "./session_support.ts";

const TIMEOUT = 20_000;
const browserTest = browserTestsNamed("web polls and location: ");
const LUXEMBOURG = { latitude: 49.6116, longitude: 6.1319 };

/** A tile server on loopback: every `/tiles/z/x/y.png` is a 256-pixel PNG, `/broken/...` 404s. */
interface TileServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

function startTileServer(): TileServer {
  const pixels = new Uint8Array(256 * 256 * 3).fill(200);
  const png = encodePng({ width: 256, height: 256, data: pixels, channels: 3 });
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    if (/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(path)) {
      return new Response(png as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "image/png", "access-control-allow-origin": "*" },
      });
    }
    return new Response("no such tile", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}

async function signIn(
  server: TestServer,
  user: TestUser,
  options: { geolocation?: typeof LUXEMBOURG } = {},
): Promise<BrowserPerson> {
  const browser = await launchBrowser({ geolocation: options.geolocation });
  const { page, errors } = await openWatchedPage(browser.context, {
    timeoutMs: TIMEOUT,
    label: localpartOf(user),
    csp: true,
  });
  await signInThroughForm(page, server, user);
  return { page, browser, errors };
}

/** Waits until the browser's device has uploaded its keys (others can encrypt for it). */
async function deviceKeysUploaded(server: TestServer, person: BrowserPerson, user: TestUser) {
  const session = JSON.parse(
    await person.page.evaluate<string>(`localStorage.getItem("gemeng.session") ?? "null"`),
  );
  const deviceId = session?.deviceId as string;
  assert(deviceId, "the app stored its session");
  for (let i = 0; i < 100; i++) {
    const res = await server.request("POST", "/_matrix/client/v3/keys/query", {
      token: user.accessToken,
      body: { device_keys: { [user.userId]: [] } },
    });
    if (res.body?.device_keys?.[user.userId]?.[deviceId]) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${user.userId}'s browser never uploaded its device keys`);
}

async function openRoom(person: BrowserPerson, name: string): Promise<void> {
  const { page } = person;
  await clickThrough(
    page.getByRole("navigation", { name: "Conversation list" })
      .getByRole("link", { name }),
    page.getByRole("heading", { name }),
  );
  await page.getByRole("button", { name: "Create poll" }).waitFor();
}

// deno-lint-ignore no-explicit-any
type RawEvent = { type: string; sender: string; content: any; event_id: string };

async function eventsOf(server: TestServer, roomId: string, token: string): Promise<RawEvent[]> {
  const res = await server.request(
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
    { token },
  );
  assertEquals(res.status, 200);
  return (res.body.chunk as RawEvent[]).reverse();
}

/** Fills and sends the create-poll dialog. */
async function createPoll(
  page: Page,
  poll: { question: string; answers: string[]; closed?: boolean },
): Promise<void> {
  await page.getByRole("button", { name: "Create poll" }).click();
  const dialog = page.getByRole("dialog", { name: "Create poll" });
  await dialog.waitFor();
  await dialog.getByLabel("Question").fill(poll.question);
  for (const [i, text] of poll.answers.entries()) {
    if (i >= 2) await dialog.getByRole("button", { name: "Add answer" }).click();
    await dialog.getByLabel(`Answer ${i + 1}`, { exact: true }).fill(text);
  }
  if (poll.closed) await dialog.getByLabel("Closed poll").check();
  await dialog.getByRole("button", { name: "Create poll" }).click();
  await dialog.waitFor({ state: "detached" });
}

const AXE_SOURCE = await Deno.readTextFile(
  new URL("../../node_modules/axe-core/axe.min.js", import.meta.url),
);

/** axe-core's WCAG 2.1 A and AA violations inside the elements `selector` matches. */
async function violations(page: Page, selector: string): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) still holds.
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<{ id: string; targets: string[] }[]>(
    `axe.run(${
      JSON.stringify(selector)
    }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(" ")) })))`,
  );
  return result.flatMap((v) => v.targets.map((target) => `${selector} ${v.id}: ${target}`));
}

/** Switches a page to the dark theme, on a phone-sized screen. */
async function darkPhone(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Switch to the dark theme" }).click();
  await page.setViewportSize({ width: 360, height: 740 });
}

function pollCard(page: Page, question: string): Locator {
  return page.getByRole("region", { name: question });
}

/** The text next to an answer: badges and, when shown, "n votes, p%". */
function answerInfo(card: Locator, answer: string): Locator {
  return card.locator("label").filter({ hasText: answer }).locator("[id$=-info]");
}

browserTest("an open poll: create, vote, change a vote, end; results on both sides", async () => {
  await withAliceAndBob({}, async ({ server, alice, bob, people }) => {
    const roomId = await createRoomOfTwo(server, alice, bob, { name: "Gemeng", encrypted: false });
    const a = await signIn(server, alice);
    people.push(a);
    const b = await signIn(server, bob);
    people.push(b);
    await openRoom(a, "Gemeng");
    await openRoom(b, "Gemeng");

    // The dialog adds and removes answers and refuses an incomplete poll.
    await a.page.getByRole("button", { name: "Create poll" }).click();
    const dialog = a.page.getByRole("dialog", { name: "Create poll" });
    await dialog.getByRole("button", { name: "Add answer" }).click();
    await dialog.getByLabel("Answer 3", { exact: true }).waitFor();
    await dialog.getByRole("button", { name: "Remove answer 3" }).click();
    assertEquals(await dialog.getByLabel("Answer 3", { exact: true }).count(), 0);
    assertEquals(await dialog.getByRole("button", { name: /^Remove answer/ }).count(), 0);
    await dialog.getByRole("button", { name: "Create poll" }).click();
    await dialog.getByText("Please write a question.").waitFor();
    const problems = await violations(a.page, "dialog[open]");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });

    const question = "Where do we meet on Saturday?";
    await createPoll(a.page, { question, answers: ["Town hall", "Library", "Park"] });

    const start = (await eventsOf(server, roomId, alice.accessToken))
      .find((e) => e.type === "org.matrix.msc3381.poll.start");
    assert(start, "the poll start went out in Element's unstable form");
    const block = start.content["org.matrix.msc3381.poll.start"];
    assertEquals(block.question["org.matrix.msc1767.text"], question);
    assertEquals(block.kind, "org.matrix.msc3381.poll.disclosed");
    assertEquals(block.max_selections, 1);
    assertEquals(
      block.answers.map((x: Record<string, string>) => x["org.matrix.msc1767.text"]),
      ["Town hall", "Library", "Park"],
    );
    assertEquals(
      start.content["org.matrix.msc1767.text"],
      `${question}\n1. Town hall\n2. Library\n3. Park`,
    );

    const cardA = pollCard(a.page, question);
    const cardB = pollCard(b.page, question);
    await cardB.waitFor();
    await cardB.getByText("No votes yet.").waitFor();
    await cardB.getByRole("radio", { name: "Vote for Library" }).check();
    await answerInfo(cardB, "Library").getByText("Your vote").waitFor();
    await cardA.getByText("Based on 1 vote").waitFor();
    await answerInfo(cardA, "Library").getByText("1 vote, 100%").waitFor();

    // Bob changes his mind: his later response replaces the earlier one.
    await cardB.getByRole("radio", { name: "Vote for Town hall" }).check();
    await answerInfo(cardA, "Town hall").getByText("1 vote, 100%").waitFor();
    await answerInfo(cardA, "Library").getByText("0 votes").waitFor();
    await cardA.getByText("Based on 1 vote").waitFor();

    await cardA.getByRole("radio", { name: "Vote for Park" }).check();
    await cardB.getByText("Based on 2 votes").waitFor();
    await answerInfo(cardB, "Park").getByText("1 vote, 50%").waitFor();
    problems.push(...await violations(b.page, "main section[aria-labelledby]"));

    // Only the creator (or a moderator) may end the poll.
    assertEquals(await cardB.getByRole("button", { name: "End poll" }).count(), 0);
    await cardA.getByRole("radio", { name: "Vote for Town hall" }).check();
    await cardB.getByText("Based on 2 votes").waitFor();
    await answerInfo(cardB, "Town hall").getByText("2 votes, 100%").waitFor();
    await cardA.getByRole("button", { name: "End poll" }).click();
    const confirm = a.page.getByRole("alertdialog", { name: "End this poll?" });
    await confirm.getByRole("button", { name: "End poll" }).click();
    await confirm.waitFor({ state: "detached" });

    for (const card of [cardA, cardB]) {
      await card.getByText("Final result based on 2 votes").waitFor();
      await answerInfo(card, "Town hall").getByText("Winning answer").waitFor();
      await answerInfo(card, "Town hall").getByText("Your vote").waitFor();
      assert(await card.getByRole("radio", { name: "Vote for Park" }).isDisabled());
      assertEquals(await card.getByRole("button", { name: "End poll" }).count(), 0);
    }

    const events = await eventsOf(server, roomId, alice.accessToken);
    const responses = events.filter((e) => e.type === "org.matrix.msc3381.poll.response");
    assertEquals(responses.length, 4, "two votes each, changes included");
    for (const response of responses) {
      assertEquals(response.content["m.relates_to"], {
        rel_type: "m.reference",
        event_id: start.event_id,
      });
    }
    const end = events.find((e) => e.type === "org.matrix.msc3381.poll.end");
    assertEquals(end?.sender, alice.userId);
    assertEquals(
      end?.content["org.matrix.msc1767.text"],
      "The poll has ended. Top answer: Town hall",
    );

    // A vote sent after the end does not count, also for someone who loads the poll afresh.
    const late = await server.request(
      "PUT",
      `/_matrix/client/v3/rooms/${
        encodeURIComponent(roomId)
      }/send/org.matrix.msc3381.poll.response/late1`,
      {
        token: bob.accessToken,
        body: {
          "m.relates_to": { rel_type: "m.reference", event_id: start.event_id },
          "org.matrix.msc3381.poll.response": { answers: [block.answers[2].id] },
        },
      },
    );
    assertEquals(late.status, 200);
    await b.page.reload();
    await openRoom(b, "Gemeng");
    await cardB.getByText("Final result based on 2 votes").waitFor();
    await answerInfo(cardB, "Town hall").getByText("2 votes, 100%").waitFor();
    await darkPhone(b.page);
    await cardB.scrollIntoViewIfNeeded();
    problems.push(...await violations(b.page, "main section[aria-labelledby]"));
    assert(
      await b.page.evaluate<boolean>("document.documentElement.scrollWidth <= 360"),
      "no sideways scrolling on a phone",
    );
    assertEquals(problems, [], "the poll views meet WCAG 2.1 AA");
  });
});

browserTest("encrypted room: a closed poll hides results until it ends", async () => {
  await withAliceAndBob({}, async ({ server, alice, bob, people }) => {
    const roomId = await createRoomOfTwo(server, alice, bob, { name: "Conseil", encrypted: true });
    const b = await signIn(server, bob);
    people.push(b);
    const a = await signIn(server, alice);
    people.push(a);
    await deviceKeysUploaded(server, b, bob);
    await deviceKeysUploaded(server, a, alice);
    await openRoom(b, "Conseil");
    await openRoom(a, "Conseil");

    const question = "Budget for the fête?";
    await createPoll(a.page, { question, answers: ["500 €", "1000 €"], closed: true });
    const cardA = pollCard(a.page, question);
    const cardB = pollCard(b.page, question);
    await cardB.getByRole("radio", { name: "Vote for 1000 €" }).check();
    await cardA.getByText("1 vote cast. Results will show when the poll ends.").waitFor();
    await answerInfo(cardB, "1000 €").getByText("Your vote").waitFor();
    assertEquals(await answerInfo(cardA, "1000 €").getByText(/vote/).count(), 0, "no counts yet");

    // The server holds ciphertext only.
    const events = await eventsOf(server, roomId, alice.accessToken);
    assert(events.some((e) => e.type === "m.room.encrypted"));
    assert(!events.some((e) => e.type.includes("poll")), "poll events are encrypted");

    await cardA.getByRole("button", { name: "End poll" }).click();
    await a.page.getByRole("alertdialog", { name: "End this poll?" })
      .getByRole("button", { name: "End poll" }).click();
    for (const card of [cardA, cardB]) {
      await card.getByText("Final result based on 1 vote").waitFor();
      await answerInfo(card, "1000 €").getByText("1 vote, 100%").waitFor();
      await answerInfo(card, "1000 €").getByText("Winning answer").waitFor();
    }
  });
});

browserTest(
  "share my location and a pin; the map's tiles come from [web] map_tile_url",
  async () => {
    const tiles = startTileServer();
    try {
      await withAliceAndBob({
        config: {
          web: {
            map_tile_url: `${tiles.url}/tiles/{z}/{x}/{y}.png`,
            map_attribution: "Test tiles",
            map_max_zoom: 18,
          },
        },
      }, async ({ server, alice, bob, people }) => {
        const roomId = await createRoomOfTwo(server, alice, bob, {
          name: "Map room",
          encrypted: false,
        });
        const a = await signIn(server, alice, { geolocation: LUXEMBOURG });
        people.push(a);
        const b = await signIn(server, bob);
        people.push(b);
        await openRoom(a, "Map room");
        await openRoom(b, "Map room");

        await a.page.getByRole("button", { name: "Share location" }).click();
        const dialog = a.page.getByRole("dialog", { name: "Share location" });
        await dialog.getByRole("button", { name: "Share my current location" }).click();
        await dialog.getByText("Selected place: 49.61160, 6.13190").waitFor();
        await dialog.getByRole("button", { name: "Send location" }).click();
        await dialog.waitFor({ state: "detached" });

        const figure = b.page.getByRole("figure").filter({ hasText: "Location of alice" });
        await figure.waitFor();
        await figure.getByText("49.61160, 6.13190").waitFor();
        await figure.getByText("Test tiles").waitFor();
        const map = figure.getByRole("group", { name: "Map" });
        await map.waitFor();
        // Every tile of the map came from the local tile server and decoded as a 256px image.
        await b.page.waitForFunction(`(() => {
          const imgs = [...document.querySelectorAll("figure img")];
          return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth === 256);
        })()`);
        const sources = await map.locator("img").evaluateAll((imgs) =>
          imgs.map((img) => img.getAttribute("src") ?? "")
        );
        assert(sources.length >= 1, "the map has tiles");
        assert(sources.every((src) => src.startsWith(`${tiles.url}/tiles/16/`)), sources.join());
        assert(
          sources.includes(`${tiles.url}/tiles/16/33884/22335.png`),
          "the tile under Luxembourg City at zoom 16",
        );
        assert(tiles.requests.includes("/tiles/16/33884/22335.png"));
        await map.getByRole("button", { name: "Zoom out" }).click();
        await b.page.waitForFunction(`[...document.querySelectorAll("figure img")]
          .some((img) => img.src.includes("/tiles/15/"))`);
        const problems = await violations(b.page, "figure");
        const open = figure.getByRole("link", { name: "Open in map" });
        // A place in Luxembourg opens in Geoportail.lu's map.
        assert((await open.getAttribute("href"))?.startsWith("https://map.geoportail.lu/theme/"));
        assertEquals(
          await figure.getByRole("link", { name: "Open in a maps app" }).getAttribute("href"),
          "geo:49.6116,6.1319;u=0",
        );

        const sent = (await eventsOf(server, roomId, alice.accessToken))
          .find((e) => e.content.msgtype === "m.location");
        assert(sent, "a location message went out");
        assertEquals(sent.content.geo_uri, "geo:49.6116,6.1319;u=0");
        assertEquals(sent.content["org.matrix.msc3488.location"], {
          uri: "geo:49.6116,6.1319;u=0",
        });
        assertEquals(sent.content["org.matrix.msc3488.asset"], { type: "m.self" });
        assertEquals(sent.content["org.matrix.msc1767.text"], sent.content.body);
        assertEquals(typeof sent.content["org.matrix.msc3488.ts"], "number");

        // A pin: a click moves it east of the start, the arrow keys move it north.
        await a.page.getByRole("button", { name: "Share location" }).click();
        await dialog.getByRole("button", { name: "Pick a place on the map" }).click();
        const picker = dialog.getByRole("application", {
          name: "Map: click or use the arrow keys to place the pin",
        });
        const box = (await picker.boundingBox())!;
        await picker.click({ position: { x: box.width / 2 + 100, y: box.height / 2 } });
        await picker.press("ArrowUp");
        await picker.press("ArrowUp");
        await dialog.getByLabel("Description (optional)").fill("Town hall");
        problems.push(...await violations(a.page, "dialog[open]"));
        const chosen = await dialog.getByText(/^Selected place:/).textContent();
        const [lat, lon] = chosen!.replace("Selected place: ", "").split(", ").map(Number);
        assert(lon > LUXEMBOURG.longitude + 0.001, `the click moved the pin east (${lon})`);
        assert(lat > LUXEMBOURG.latitude + 0.0005, `the arrow keys moved it north (${lat})`);
        await dialog.getByRole("button", { name: "Send location" }).click();
        await dialog.waitFor({ state: "detached" });
        const pinned = b.page.getByRole("figure").filter({ hasText: "Town hall" });
        await pinned.waitFor();
        const last = (await eventsOf(server, roomId, alice.accessToken))
          .filter((e) => e.content.msgtype === "m.location").at(-1)!;
        assertEquals(last.content["org.matrix.msc3488.asset"], { type: "m.pin" });
        assertEquals(last.content["org.matrix.msc3488.location"].description, "Town hall");
        assert(!last.content.geo_uri.includes(";u="), "a pin has no accuracy");
        await darkPhone(b.page);
        await pinned.scrollIntoViewIfNeeded();
        problems.push(...await violations(b.page, "figure"));
        assertEquals(problems, [], "the location views meet WCAG 2.1 AA");
      });
    } finally {
      await tiles.close();
    }
  },
);

browserTest("encrypted room: when tiles fail, a message and the coordinates show", async () => {
  const tiles = startTileServer();
  try {
    await withAliceAndBob({
      config: { web: { map_tile_url: `${tiles.url}/broken/{z}/{x}/{y}.png` } },
    }, async ({ server, alice, bob, people }) => {
      await createRoomOfTwo(server, alice, bob, { name: "Offline map", encrypted: true });
      const b = await signIn(server, bob);
      people.push(b);
      const a = await signIn(server, alice, { geolocation: LUXEMBOURG });
      people.push(a);
      await deviceKeysUploaded(server, b, bob);
      await deviceKeysUploaded(server, a, alice);
      await openRoom(b, "Offline map");
      await openRoom(a, "Offline map");

      await a.page.getByRole("button", { name: "Share location" }).click();
      const dialog = a.page.getByRole("dialog", { name: "Share location" });
      await dialog.getByRole("button", { name: "Share my current location" }).click();
      await dialog.getByRole("button", { name: "Send location" }).click();
      await dialog.waitFor({ state: "detached" });

      const figure = b.page.getByRole("figure").filter({ hasText: "Location of alice" });
      await figure.getByText("The map could not be loaded.").waitFor();
      await figure.getByText("49.61160, 6.13190").waitFor();
      // The geo: URI is a link's target, never shown as text.
      const geo = figure.getByRole("link", { name: "Open in a maps app" });
      assertEquals(await geo.getAttribute("href"), "geo:49.6116,6.1319;u=0");
      assert(!(await figure.innerText()).includes("geo:"), "no raw geo: URI as text");
      assertEquals(await figure.locator("img").count(), 0, "no broken map is left");
      assert(tiles.requests.some((path) => path.startsWith("/broken/16/")));
    });
  } finally {
    await tiles.close();
  }
});
