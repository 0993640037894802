/**
 * The room settings' "Internal room" switch in headless Chromium against a real server: it
 * shows the room's `lu.gemeng.internal` setting with a plain explanation, switching it on and
 * off writes the state event the server enforces, it is labelled and keyboard-usable (axe's WCAG
 * 2.1 A/AA checks), and it fits a 360 px phone.
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

const TIMEOUT = 15_000;

async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
browserTest(
  "web room settings: the internal room switch writes lu.gemeng.internal, on two widths",
  () =>
    withServerAndBrowser({}, async (server, browser) => {
      const anna = await server.register("anna");
      const created = await server.request("POST", "/_matrix/client/v3/createRoom", {
        token: anna.accessToken,
        body: { name: "Sozialamt", preset: "private_chat" },
      });
      assertEquals(created.status, 200);
      const roomId: string = created.body.room_id;
      const settingPath = `/_matrix/client/v3/rooms/${
        encodeURIComponent(roomId)
      }/state/lu.gemeng.internal`;
      const setting = async () =>
        (await server.request("GET", settingPath, { token: anna.accessToken })).body;

      const { page, errors } = await openWatchedPage(browser.context, { timeoutMs: TIMEOUT });
      await submitSignIn(page, server, anna);
      const settings = await openRoomSettings(page, "Sozialamt");
      const name = `Internal room: only people from ${server.serverName}`;
      const toggle = settings.getByRole("switch", { name });
      await toggle.waitFor();
      assertEquals(await toggle.isChecked(), false);
      await settings.getByText(
        "People with an account on another server cannot join or be invited.",
      )
        .waitFor();

      // With the keyboard: the switch takes focus and Space turns it on (once the room's power
      // levels and members are loaded, it is enabled for anna).
      await eventually(() => toggle.isEnabled());
      await toggle.focus();
      await page.keyboard.press("Space");
      await eventually(async () => (await setting())?.internal === true);
      // The switch shows the room's state as it came back through sync.
      await eventually(() => toggle.isChecked());
      assertEquals(await violations(page), [], "the settings with the switch on");

      // On a phone the section fits; a click turns the switch off again.
      await page.setViewportSize({ width: 360, height: 740 });
      await toggle.scrollIntoViewIfNeeded();
      const box = await settings.getByText(name, { exact: true }).boundingBox();
      assert(box !== null && box.x >= 0 && box.x + box.width <= 360, JSON.stringify(box));
      await toggle.click();
      await eventually(async () => (await setting())?.internal === false);
      // The switch shows the room's state as it came back through sync.
      await eventually(async () => !(await toggle.isChecked()));
      assertEquals(await violations(page), [], "the settings on a phone");
      assertEquals(errors, []);
    }),
);
