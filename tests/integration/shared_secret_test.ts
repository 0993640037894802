import { assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";
import { hmacSha1Hex } from "../../crypto/tokens.ts";

const PATH = "/_synapse/admin/v1/register";
const SECRET = "correct horse battery staple";

/** Computes the MAC the way Synapse's register_new_matrix_user does. */
function mac(fields: { nonce: string; username: string; password: string; admin: boolean }) {
  const message = [
    fields.nonce,
    fields.username,
    fields.password,
    fields.admin ? "admin" : "notadmin",
  ]
    .join("\0");
  return hmacSha1Hex(SECRET, message);
}

Deno.test("shared-secret registration: correct mac, wrong mac, reused nonce", async () => {
  const t = await startTestServer({ config: { registration: { shared_secret: SECRET } } });
  try {
    const nonce1 = (await t.request("GET", PATH)).body.nonce;
    const fields = { nonce: nonce1, username: "root", password: "hunter2", admin: true };
    const ok = await t.request("POST", PATH, { body: { ...fields, mac: await mac(fields) } });
    assertEquals(ok.status, 200);
    assertEquals(ok.body.user_id, "@root:localhost");
    const who = await t.request("GET", "/_matrix/client/v3/account/whoami", {
      token: ok.body.access_token,
    });
    assertEquals(who.body.user_id, "@root:localhost");
    await t.login("root", "hunter2");

    // The nonce cannot be used again, even with a valid MAC for a new user.
    const reuse = { ...fields, username: "root2" };
    const reused = await t.request("POST", PATH, { body: { ...reuse, mac: await mac(reuse) } });
    assertEquals(reused.status, 400);

    // A wrong MAC is refused and spends the nonce.
    const nonce2 = (await t.request("GET", PATH)).body.nonce;
    const other = { nonce: nonce2, username: "mallory", password: "x", admin: false };
    const forged = { ...other, admin: true };
    const wrong = await t.request("POST", PATH, { body: { ...forged, mac: await mac(other) } });
    assertEquals([wrong.status, wrong.body.errcode], [403, "M_FORBIDDEN"]);
    const retry = await t.request("POST", PATH, { body: { ...other, mac: await mac(other) } });
    assertEquals(retry.status, 400);

    // A taken name.
    const nonce3 = (await t.request("GET", PATH)).body.nonce;
    const dup = { nonce: nonce3, username: "root", password: "x", admin: false };
    const taken = await t.request("POST", PATH, { body: { ...dup, mac: await mac(dup) } });
    assertEquals(taken.body.errcode, "M_USER_IN_USE");
  } finally {
    await t.close();
  }
});

Deno.test("shared-secret registration is off without a secret", async () => {
  const t = await startTestServer();
  try {
    const res = await t.request("GET", PATH);
    assertEquals(res.status, 400);
    const post = await t.request("POST", PATH, { body: {} });
    assertEquals(post.status, 400);
  } finally {
    await t.close();
  }
});
