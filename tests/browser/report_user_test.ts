/**
 * Reporting a person from the room's member list, in headless Chromium against a real server:
 * Ignore and Report sit beside every other member (never beside oneself); Report asks for a
 * reason and the report reaches the server's store (`POST /users/{userId}/report`); the button
 * and the dialog on a 360 px phone; axe's WCAG 2.1 A/AA checks on the dialog.
 */

import { assert, assertEquals } from "../unit/assert.ts";
import { violations } from "./axe.ts";
import {
  browserTest,
  openRoomSettings,
  openWatchedPage,
  submitSignIn,
  withServerAndBrowser,
} from "./session_support.ts";
import { setDisplayName } from "./room_support.ts";

const TIMEOUT = 15_000;
browserTest(
  "web members: report a person with a reason, ignore beside it, on two widths",
  () =>
    withServerAndBrowser({}, async (server, browser) => {
      const anna = await server.register("anna");
      const bob = await server.register("bob");
      await setDisplayName(server, bob, "Bob");
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: anna.accessToken,
        body: { name: "Conseil", preset: "public_chat" },
      });
      assertEquals(created.status, 200);
      const roomId: string = created.body.room_id;
      const joined = await server.request(
        "POST",
        `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`,
        { token: bob.accessToken, body: {} },
      );
      assertEquals(joined.status, 200);

      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      await submitSignIn(page, server, anna);
      const settings = await openRoomSettings(page, "Conseil");
      const bobsRow = settings.getByRole("listitem").filter({ hasText: bob.userId });
      await bobsRow.getByRole("button", { name: /^Ignore Bob/ }).waitFor();
      const annasRow = settings.getByRole("listitem").filter({ hasText: anna.userId });
      assertEquals(await annasRow.getByRole("button", { name: /^Report/ }).count(), 0);
      assertEquals(await annasRow.getByRole("button", { name: /^Ignore/ }).count(), 0);

      await bobsRow.getByRole("button", { name: "Report Bob" }).click();
      const report = page.getByRole("dialog", { name: "Report Bob" });
      await report.getByLabel("Reason").fill("Sends chain letters");
      assertEquals(await violations(page), [], "the report dialog");
      await report.getByRole("button", { name: "Send report" }).click();
      await report.getByText("Thank you, the report was sent.").waitFor();
      await report.getByRole("button", { name: "Close" }).click();
      await report.waitFor({ state: "detached" });
      await settings.waitFor();

      const reports: Record<string, unknown>[] = [];
      for await (
        const entry of server.hs.kv.list<Record<string, unknown>>({ prefix: ["report"] })
      ) {
        reports.push(entry.value);
      }
      assertEquals(reports.length, 1);
      assertEquals(reports[0].kind, "user");
      assertEquals(reports[0].userId, bob.userId);
      assertEquals(reports[0].reporter, anna.userId);
      assertEquals(reports[0].reason, "Sends chain letters");

      // On a phone the buttons wrap inside the row and the dialog fits.
      await page.setViewportSize({ width: 360, height: 740 });
      const button = bobsRow.getByRole("button", { name: "Report Bob" });
      await button.scrollIntoViewIfNeeded();
      const box = await button.boundingBox();
      assert(box !== null && box.x >= 0 && box.x + box.width <= 360, JSON.stringify(box));
      await button.click();
      await report.waitFor();
      const dialogBox = await report.boundingBox();
      assert(dialogBox !== null && dialogBox.width <= 360, JSON.stringify(dialogBox));
      assertEquals(await violations(page), [], "the report dialog on a phone");
      await report.getByRole("button", { name: "Cancel" }).click();
      await report.waitFor({ state: "detached" });
      assertEquals(errors, []);
    }),
);
