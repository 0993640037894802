/**
 * The web app's sign-in and sign-up layer (web/src/matrix/auth.ts) against real servers, without
 * a browser: what sign-up needs, the UIA stages, and how failures are classified.
 */

import {
  AuthError,
  registrationRequirements,
  resolveHomeserver,
  signInWithPassword,
  signUp,
} from "../../web/src/matrix/auth.ts";
import { createRegistrationToken } from "../../server/store/accounts.ts";
import { startTestServer } from "../support/test_server.ts";
import { assert, assertEquals } from "../unit/assert.ts";

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert(err instanceof AuthError, `an AuthError, got ${err}`);
    return err.code;
  }
  throw new Error("expected a failure");
}

Deno.test({
  name: "web auth: open registration, password sign-in, and the failures people meet",
  sanitizeOps: false, // the SDK keeps timers of its own
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer();
    try {
      assertEquals(await resolveHomeserver(server.baseUrl + "/"), server.baseUrl);
      assertEquals(await registrationRequirements(server.baseUrl), { tokenRequired: false });

      const created = await signUp(server.baseUrl, { username: "gina", password: "pw-gina-1" });
      assertEquals(created.userId, "@gina:localhost");
      assertEquals(created.homeserverUrl, server.baseUrl);
      const whoami = await server.request("GET", "/_matrix/client/v3/account/whoami", {
        token: created.accessToken,
      });
      assertEquals(whoami.body.device_id, created.deviceId);

      assertEquals(
        await failure(signUp(server.baseUrl, { username: "gina", password: "x-1" })),
        "userInUse",
      );
      assertEquals(
        await failure(signUp(server.baseUrl, { username: "Not Valid!", password: "x-1" })),
        "invalidUsername",
      );

      const signedIn = await signInWithPassword(server.baseUrl, {
        username: "gina",
        password: "pw-gina-1",
      });
      assertEquals(signedIn.userId, "@gina:localhost");
      assert(signedIn.deviceId !== created.deviceId, "a new device");
      assertEquals(
        await failure(signInWithPassword(server.baseUrl, { username: "gina", password: "no" })),
        "badLogin",
      );
      assertEquals(await failure(resolveHomeserver("http://127.0.0.1:1")), "unreachable");
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "web auth: registration tokens and closed registration",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tokenServer = await startTestServer({
      config: { registration: { enabled: true, require_token: true } },
    });
    const closed = await startTestServer({ config: { registration: { enabled: false } } });
    try {
      const url = tokenServer.baseUrl;
      assertEquals(await registrationRequirements(url), { tokenRequired: true });
      assertEquals(
        await failure(signUp(url, { username: "hal", password: "pw-hal-1" })),
        "badToken",
        "no token given",
      );
      assertEquals(
        await failure(signUp(url, { username: "hal", password: "pw-hal-1", token: "wrong" })),
        "badToken",
      );
      const token = await createRegistrationToken(tokenServer.hs.kv, { usesAllowed: 1 });
      const hal = await signUp(url, { username: "hal", password: "pw-hal-1", token });
      assertEquals(hal.userId, "@hal:localhost");
      assertEquals(
        await failure(signUp(url, { username: "ida", password: "pw-ida-1", token })),
        "badToken",
        "the token's one use is spent",
      );

      assertEquals(await failure(registrationRequirements(closed.baseUrl)), "registrationClosed");
      assertEquals(
        await failure(signUp(closed.baseUrl, { username: "joe", password: "pw-joe-1" })),
        "registrationClosed",
      );
    } finally {
      await tokenServer.close();
      await closed.close();
    }
  },
});
