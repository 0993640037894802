/**
 * `deno run -A web/screenshots.ts`: photographs the main screens at phone (360 px) and desktop
 * width into docs/screenshots/, against a test server with a few rooms, an invitation and
 * unread messages. Re-run it when the screens change.
 *
 * @module
 */

import { launchBrowser } from "../tests/browser/chromium.ts";
import { startTestServer } from "../tests/support/test_server.ts";

const OUT = new URL("../docs/screenshots/", import.meta.url);

const SIZES = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;

async function main(): Promise<void> {
  await Deno.mkdir(OUT, { recursive: true });
  const server = await startTestServer();
  try {
    const anna = await server.register("anna");
    const ben = await server.register("ben");
    const api = (token: string, method: string, path: string, body: unknown) =>
      server.request(method, `/_matrix/client/v3${path}`, { token, body });
    const rooms: string[] = [];
    for (const name of ["Conseil communal", "Équipe sociale", "Bureau des citoyens"]) {
      const res = await api(ben.accessToken, "POST", "/createRoom", {
        name,
        invite: [anna.userId],
      });
      rooms.push(res.body.room_id);
    }
    for (const roomId of rooms.slice(1)) {
      await api(anna.accessToken, "POST", `/join/${encodeURIComponent(roomId)}`, {});
    }
    for (const [i, text] of ["Moien!", "Réunion à 14 h", "Merci"].entries()) {
      await api(
        ben.accessToken,
        "PUT",
        `/rooms/${encodeURIComponent(rooms[1])}/send/m.room.message/s${i}`,
        { msgtype: "m.text", body: text },
      );
    }

    for (const [size, viewport] of Object.entries(SIZES)) {
      const browser = await launchBrowser({ viewport });
      try {
        const page = await browser.context.newPage();
        const dark = size === "desktop";
        await page.goto(server.baseUrl);
        await page.evaluate(`localStorage.setItem("gemeng.theme", "${dark ? "dark" : "light"}")`);
        await page.reload();
        await page.getByRole("heading", { name: "Sign in" }).waitFor();
        await page.screenshot({ path: new URL(`sign-in-${size}.png`, OUT).pathname });
        await page.getByLabel("Username").fill("anna");
        await page.getByLabel("Password").fill(anna.password);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByText("Invited by @ben:localhost").waitFor();
        await page.getByLabel("3 unread messages").waitFor();
        await page.screenshot({ path: new URL(`room-list-${size}.png`, OUT).pathname });
        await page.getByRole("link", { name: "Settings" }).click();
        await page.getByText("End-to-end encryption is ready on this device.").waitFor();
        await page.screenshot({ path: new URL(`settings-${size}.png`, OUT).pathname });
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
  console.log(`screenshots written to ${OUT.pathname}`);
}

if (import.meta.main) await main();
