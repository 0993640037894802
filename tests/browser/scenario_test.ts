/**
 * One end-to-end scenario through the web app only: alice and bob, each in their own headless
 * Chromium, against a real server. They sign up through the form, set up secure messaging from
 * the prompt after the first sign-in (alice also asks to be warned about unverified people),
 * alice starts an encrypted direct chat with bob, bob accepts; they write, alice edits, bob
 * replies, alice reacts; alice makes a poll and bob votes; bob sends a file that alice saves
 * byte for byte; alice shares her (stubbed) position on a map from a local tile server; they
 * verify each other with emoji; bob reloads and finds everything; bob goes offline and the app
 * still opens with his rooms. Throughout, the server (its HTTP answers and every byte of its
 * KV store) holds none of the conversation's plaintext.
 */

import { Buffer } from "node:buffer";
import type { Locator, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";
import { type BrowserSession, launchBrowser, SKIP_REASON } from "./chromium.ts";
import { contains, kvBytes, shownEmoji, startTileServer } from "./scenario_support.ts";
import { clickThrough } from "./session_support.ts";

/** Rust crypto's WASM starts slowly in Chromium on a busy machine. */
const TIMEOUT = 60_000;
const LUXEMBOURG = { latitude: 49.6116, longitude: 6.1319 };

/** Texts that must never reach the server in the clear. */
const SECRET = {
  first: "Moien Bob, de Budget ass prett",
  edited: "Moien Bob, de Budget ass prett fir den Dënschdeg",
  answer: "Moien Alice, wéi geet et?",
  reply: "Super, ech kucken en haut den Owend",
  question: "Wéini treffe mir eis?",
  answers: ["Méindeg", "Mëttwoch"],
  fileName: "protokoll-geheim.txt",
  fileText: "Protokoll vun der Sëtzung: ZUTIEFST-VERTRAULECH-7731",
  coordinates: "49.6116,6.1319",
};

/** One person: a browser of their own, the app's page, and the page's errors. */
interface Person {
  name: string;
  password: string;
  browser: BrowserSession;
  page: Page;
  errors: string[];
}

async function openBrowser(name: string): Promise<Person> {
  const browser = await launchBrowser({ geolocation: LUXEMBOURG });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    if (Deno.env.get("GEMENG_BROWSER_LOG")) console.log(`[${name} ${msg.type()}] ${msg.text()}`);
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
      errors.push(`${name}: ${msg.text()}`);
    }
  });
  return { name, password: `${name} has a long passphrase`, browser, page, errors };
}

/**
 * Polls `expression` in the page until it is truthy. Evaluated through the DevTools protocol
 * each time: playwright's in-page polling would need `eval`, which the app's CSP forbids.
 */
async function until(page: Page, expression: string, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function session(person: Person): Promise<{ accessToken: string; deviceId: string }> {
  return JSON.parse(await person.page.evaluate<string>(`localStorage.getItem("gemeng.session")`));
}

function timeline(person: Person, room: string): Locator {
  return person.page.getByRole("log", { name: `Messages in ${room}` });
}

/** The tile (list item) of the message in `room` whose text contains `text`. */
function message(person: Person, room: string, text: string): Locator {
  return timeline(person, room).locator("li[data-event-id]").filter({
    has: person.page.getByRole("article").filter({ hasText: text }),
  });
}

async function say(person: Person, text: string): Promise<void> {
  await person.page.getByRole("textbox", { name: "Message", exact: true }).click();
  await person.page.keyboard.type(text);
  await person.page.keyboard.press("Enter");
}

/** Waits until the composer has the keyboard focus (Reply and Edit move it there). */
async function composerFocused(person: Person): Promise<void> {
  await until(
    person.page,
    `document.activeElement?.getAttribute("aria-label") === "Message"`,
    `${person.name}'s composer to have focus`,
  );
}

/** Runs one of a message's actions (they show on hover). */
async function act(tile: Locator, action: string): Promise<void> {
  await tile.hover();
  await tile.getByRole("toolbar", { name: "Message actions" })
    .getByRole("button", { name: action, exact: true }).click();
}

Deno.test({
  name: "web scenario: two people, one encrypted chat, every feature, through the UI only",
  ignore: SKIP_REASON !== null,
  // Chromium's pipes and the SDK's timers outlive single steps; the test closes them.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tiles = startTileServer();
    const server: TestServer = await startTestServer({
      config: {
        web: {
          map_tile_url: `${tiles.url}/tiles/{z}/{x}/{y}.png`,
          map_attribution: "Test tiles",
        },
      },
    });
    const people: Person[] = [];
    /** Runs a named step; a failed step ends the scenario (later steps depend on it). */
    const step = async (name: string, fn: () => Promise<void>) => {
      const ok = await t.step({
        name,
        fn,
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
      });
      if (!ok) {
        // What each screen showed when the step failed.
        const dir = await Deno.makeTempDir({ prefix: "gemeng-scenario-" });
        for (const person of people) {
          await person.page.screenshot({ path: `${dir}/${person.name}.png` }).catch(() => {});
        }
        console.error(`screenshots of the failed step: ${dir}`);
        throw new Error(`step failed: ${name}`);
      }
    };
    try {
      const [alice, bob] = await Promise.all([openBrowser("alice"), openBrowser("bob")]);
      people.push(alice, bob);
      const both = (fn: (person: Person) => Promise<void>) => Promise.all(people.map(fn));
      // Each one's chat is named after the other (a direct chat without a name).
      const roomOf = (person: Person) => person === alice ? "bob" : "alice";
      let roomId = "";

      await step("both sign up through the sign-up form", async () => {
        await both(async (person) => {
          const { page } = person;
          await page.goto(server.baseUrl);
          await page.getByRole("heading", { name: "Sign in" }).waitFor();
          await clickThrough(
            page.getByRole("link", { name: "Create an account" }),
            page.getByRole("heading", { name: "Create an account" }),
          );
          await page.getByLabel("Username").fill(person.name);
          await page.getByLabel("Password", { exact: true }).fill(person.password);
          await page.getByLabel("Confirm password").fill(person.password);
          await page.getByRole("button", { name: "Create account" }).click();
          await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
          await page.getByText(`Signed in as @${person.name}:localhost`).first().waitFor();
        });
      });

      await step("both set up secure messaging from the first sign-in's prompt", async () => {
        await both(async ({ page }) => {
          const prompt = page.getByRole("complementary", { name: "Keep your messages safe" });
          await prompt.getByRole("button", { name: "Set up secure messaging" }).click();
          const dialog = page.getByRole("dialog", { name: "Your recovery key" });
          const key = await dialog.getByRole("textbox", { name: "Recovery key" }).inputValue();
          assert(/^(\w{4} ){10,}\w{1,4}$/.test(key), `a recovery key: ${key}`);
          await dialog.getByRole("button", { name: "I have saved my recovery key" }).click();
          await dialog.waitFor({ state: "detached" });
          const done = page.getByRole("complementary", { name: "Secure messaging" });
          await done.getByText("Secure messaging is set up. Keep your recovery key safe.")
            .waitFor();
          await done.getByRole("button", { name: "Close" }).click();
          await page.getByRole("link", { name: "Settings" }).click();
          const status = page.getByRole("region", { name: "Secure messaging" })
            .getByRole("status");
          await status.getByText("Cross-signing is ready.").waitFor();
          await status.getByText("This device is verified.", { exact: true }).waitFor();
        });
        // Alice wants to know when someone she has not verified writes to her.
        await alice.page.getByRole("checkbox", {
          name: "Warn me about messages from people I have not verified",
        }).check();
        await both(async ({ page }) => {
          await page.getByRole("link", { name: "Back to conversations" }).click();
          await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
        });
      });

      await step("alice starts an encrypted direct chat with bob from the directory", async () => {
        const { page } = alice;
        await page.getByRole("button", { name: "Start chat" }).click();
        const dialog = page.getByRole("dialog", { name: "Start a chat" });
        await dialog.getByLabel("Search people").fill("@bob:localhost");
        await dialog.getByRole("button", { name: /@bob:localhost/ }).click();
        await page.waitForURL(/\/rooms\//);
        roomId = decodeURIComponent(new URL(page.url()).pathname.slice("/rooms/".length));
        await page.getByRole("heading", { name: "bob" }).waitFor();
        const { accessToken } = await session(alice);
        const encryption = await server.request(
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption`,
          { token: accessToken },
        );
        assertEquals(
          encryption.body?.algorithm,
          "m.megolm.v1.aes-sha2",
          "encrypted from the start",
        );
      });

      await step("bob accepts the invitation", async () => {
        const list = bob.page.getByRole("navigation", { name: "Conversation list" });
        await list.getByRole("button", { name: "Accept the invitation to alice" }).click();
        await clickThrough(
          list.getByRole("link", { name: "alice" }),
          bob.page.getByRole("heading", { name: "alice" }),
        );
        await timeline(bob, "alice").waitFor();
        await timeline(alice, "bob").getByText("bob joined").waitFor();
      });

      await step("they read each other's messages", async () => {
        await say(alice, SECRET.first);
        await message(bob, "alice", SECRET.first).waitFor();
        await say(bob, SECRET.answer);
        await message(alice, "bob", SECRET.answer).waitFor();
      });

      await step("alice edits her message; bob sees the new text and (edited)", async () => {
        await act(message(alice, "bob", SECRET.first), "Edit");
        await alice.page.getByText("Editing your message").waitFor();
        await composerFocused(alice);
        await alice.page.keyboard.press("End");
        await alice.page.keyboard.type(" fir den Dënschdeg");
        await alice.page.keyboard.press("Enter");
        const edited = message(bob, "alice", SECRET.edited);
        await edited.waitFor();
        await edited.getByText("(edited)").waitFor();
        await edited.getByRole("button", { name: "Edited: show the edit history" }).waitFor();
      });

      await step("bob replies to the edited message; alice sees the reply", async () => {
        await act(message(bob, "alice", SECRET.edited), "Reply");
        await bob.page.getByText("Replying to alice").waitFor();
        await composerFocused(bob);
        await bob.page.keyboard.type(SECRET.reply);
        await bob.page.keyboard.press("Enter");
        const reply = message(alice, "bob", SECRET.reply);
        await reply.getByRole("button", { name: /In reply to\s*alice/ }).waitFor();
      });

      await step("alice reacts to the reply; bob sees the reaction", async () => {
        await act(message(alice, "bob", SECRET.reply), "React");
        await alice.page.getByRole("dialog", { name: "Choose a reaction" })
          .getByRole("button", { name: "React with 👍" }).click();
        await message(bob, "alice", SECRET.reply)
          .getByRole("button", { name: "👍 1, reaction by alice" }).waitFor();
      });

      await step("alice creates a poll, bob votes, alice sees the vote", async () => {
        const { page } = alice;
        await page.getByRole("button", { name: "Create poll" }).click();
        const dialog = page.getByRole("dialog", { name: "Create poll" });
        await dialog.getByLabel("Question").fill(SECRET.question);
        for (const [i, text] of SECRET.answers.entries()) {
          await dialog.getByLabel(`Answer ${i + 1}`, { exact: true }).fill(text);
        }
        await dialog.getByRole("button", { name: "Create poll" }).click();
        await dialog.waitFor({ state: "detached" });
        const bobsCard = bob.page.getByRole("region", { name: SECRET.question });
        await bobsCard.getByRole("radio", { name: `Vote for ${SECRET.answers[1]}` }).check();
        const alicesCard = page.getByRole("region", { name: SECRET.question });
        await alicesCard.getByText("Based on 1 vote").waitFor();
        await alicesCard.locator("label").filter({ hasText: SECRET.answers[1] })
          .getByText("1 vote, 100%").waitFor();
      });

      await step("bob sends a file through the picker; alice saves the same bytes", async () => {
        const bytes = new TextEncoder().encode(`${SECRET.fileText}\n`.repeat(200));
        const [chooser] = await Promise.all([
          bob.page.waitForEvent("filechooser"),
          bob.page.getByRole("button", { name: "Attach file" }).click(),
        ]);
        await chooser.setFiles({
          name: SECRET.fileName,
          mimeType: "text/plain",
          buffer: Buffer.from(bytes),
        });
        await bob.page.getByRole("dialog").getByRole("button", { name: "Send", exact: true })
          .click();
        const tile = message(alice, "bob", SECRET.fileName);
        await tile.waitFor();
        const [download] = await Promise.all([
          alice.page.waitForEvent("download"),
          tile.getByRole("button", { name: "Download" }).click(),
        ]);
        assertEquals(download.suggestedFilename(), SECRET.fileName);
        const saved = await Deno.readFile((await download.path())!);
        assertEquals(saved.length, bytes.length);
        assert(saved.every((byte, i) => byte === bytes[i]), "the saved bytes are the file's");
      });

      await step("alice shares her location; bob sees it on a map", async () => {
        await alice.page.getByRole("button", { name: "Share location" }).click();
        const dialog = alice.page.getByRole("dialog", { name: "Share location" });
        await dialog.getByRole("button", { name: "Share my current location" }).click();
        await dialog.getByText("Selected place: 49.61160, 6.13190").waitFor();
        await dialog.getByRole("button", { name: "Send location" }).click();
        await dialog.waitFor({ state: "detached" });
        const figure = bob.page.getByRole("figure").filter({ hasText: "Location of alice" });
        await figure.getByText("49.61160, 6.13190").waitFor();
        await figure.getByRole("group", { name: "Map" }).waitFor();
        await until(
          bob.page,
          `(() => {
            const imgs = [...document.querySelectorAll("figure img")];
            return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth === 256)
              && imgs.every((img) => img.src.startsWith(${JSON.stringify(tiles.url)}));
          })()`,
          "the map tiles from the local tile server",
        );
      });

      await step("they verify each other with emoji", async () => {
        const shield = alice.page.getByRole("button", { name: "Sender not verified" });
        await shield.first().click();
        await alice.page.getByRole("button", { name: "Verify @bob:localhost" }).click();
        const alicesDialog = alice.page.getByRole("dialog", { name: "Verification" });
        const bobsDialog = bob.page.getByRole("dialog", { name: "Verification" });
        await bobsDialog.getByText("@alice:localhost wants to verify you.").waitFor();
        await bobsDialog.getByRole("button", { name: "Accept" }).click();
        const [alicesEmoji, bobsEmoji] = await Promise.all([
          shownEmoji(alice.page),
          shownEmoji(bob.page),
        ]);
        assertEquals(alicesEmoji.length, 7, alicesEmoji.join(", "));
        assertEquals(alicesEmoji, bobsEmoji, "the same seven emoji on both screens");
        await Promise.all([
          alicesDialog.getByRole("button", { name: "They match" }).click(),
          bobsDialog.getByRole("button", { name: "They match" }).click(),
        ]);
        await alicesDialog.getByText("@bob:localhost is verified.").waitFor();
        await bobsDialog.getByText("@alice:localhost is verified.").waitFor();
        await alicesDialog.getByRole("button", { name: "Close" }).click();
        await bobsDialog.getByRole("button", { name: "Close" }).click();
        // Neither marks the other's messages as from an unverified sender any more.
        await both(async (person) => {
          await message(person, roomOf(person), SECRET.reply).waitFor();
          await person.page.getByRole("button", { name: "Sender not verified" })
            .first().waitFor({ state: "detached" });
        });
      });

      const bobsDevice = (await session(bob)).deviceId;

      await step("bob reloads and finds his session and the conversation", async () => {
        await bob.page.reload();
        await bob.page.getByRole("navigation", { name: "Conversation list" }).waitFor();
        assertEquals((await session(bob)).deviceId, bobsDevice, "the same device");
        // The page reloads on the chat it showed.
        await bob.page.getByRole("heading", { name: "alice" }).waitFor();
        for (const text of [SECRET.edited, SECRET.answer, SECRET.reply, SECRET.fileName]) {
          await message(bob, "alice", text).first().waitFor();
        }
        // The first tile with the edited text is the message itself (the reply quotes it).
        await message(bob, "alice", SECRET.edited).first().getByText("(edited)").waitFor();
        await message(bob, "alice", SECRET.reply)
          .getByRole("button", { name: "👍 1, reaction by alice" }).waitFor();
        await bob.page.getByRole("region", { name: SECRET.question }).getByText("Based on 1 vote")
          .waitFor();
        await bob.page.getByRole("figure").filter({ hasText: "Location of alice" }).waitFor();
        assertEquals(
          await bob.page.getByRole("button", { name: "Sender not verified" }).count(),
          0,
          "alice is still verified after the reload",
        );
        // The verification finished before the reload; it must not come back as a request.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const overlay = bob.page.getByRole("dialog", { name: "Verification" });
        assertEquals(
          await overlay.count() ? await overlay.textContent() : null,
          null,
          "no verification dialog after the reload",
        );
      });

      await step("bob goes offline and reloads: the app opens with his rooms", async () => {
        await until(
          bob.page,
          `navigator.serviceWorker.ready.then((registration) =>
            registration.active?.state === "activated" && !!navigator.serviceWorker.controller)`,
          "the service worker to control the page",
        );
        await bob.page.context().setOffline(true);
        await bob.page.reload();
        await bob.page.getByRole("navigation", { name: "Conversation list" }).waitFor();
        await bob.page.getByText("Offline: showing what this device has saved.").first().waitFor();
        await bob.page.getByRole("navigation", { name: "Conversation list" })
          .getByRole("link", { name: "alice" }).waitFor();
        assertEquals(await bob.page.evaluate("navigator.onLine"), false);
      });

      await step("the server never held the conversation's plaintext", async () => {
        const { accessToken } = await session(alice);
        const res = await server.request(
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
          { token: accessToken },
        );
        assertEquals(res.status, 200);
        // deno-lint-ignore no-explicit-any
        const events = (res.body.chunk as any[]).filter((e) => e.state_key === undefined);
        const types = events.map((e) => e.type);
        // Messages, the edit, the reply, poll, vote, file and location: all ciphertext.
        // matrix-js-sdk (like Element) sends two kinds in the clear, which carry none of the
        // conversation: a reaction (its relation and emoji) and the in-room verification
        // (the request, then keys and MACs that are safe to show).
        assert(types.filter((type) => type === "m.room.encrypted").length >= 8, types.join());
        for (const event of events.filter((e) => e.type !== "m.room.encrypted")) {
          const what = `${event.type} ${JSON.stringify(event.content)}`;
          if (event.type === "m.reaction") {
            assertEquals(Object.keys(event.content), ["m.relates_to"], what);
          } else if (event.type === "m.room.message") {
            assertEquals(event.content.msgtype, "m.key.verification.request", what);
          } else {
            assert(event.type.startsWith("m.key.verification."), what);
          }
        }
        assertEquals(types.filter((type) => type === "m.reaction").length, 1);

        const stored = await kvBytes(server.hs.kv);
        const encoder = new TextEncoder();
        const found = (text: string) =>
          stored.some((bytes) => contains(bytes, encoder.encode(text)));
        assert(found("👍"), "the KV scan reads event contents (the clear reaction is there)");
        const leaked = [
          SECRET.first,
          SECRET.answer,
          SECRET.reply,
          "fir den Dënschdeg",
          SECRET.question,
          ...SECRET.answers,
          SECRET.fileName,
          "ZUTIEFST-VERTRAULECH",
          SECRET.coordinates,
        ].filter(found);
        assertEquals(leaked, [], "no plaintext in the server's store");
      });

      assertEquals(people.flatMap((person) => person.errors), [], "page errors or CSP breaches");
    } finally {
      await Promise.all(people.map((person) => person.browser.close()));
      await server.close();
      await tiles.close();
    }
  },
});
