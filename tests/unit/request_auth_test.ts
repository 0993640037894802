import { assert, assertEquals } from "./assert.ts";
import { SigningKey } from "../../crypto/signing.ts";
import {
  formatXMatrix,
  parseXMatrix,
  requestSigningJson,
  signRequest,
  verifyRequest,
  XMatrixParseError,
} from "../../federation/request_auth.ts";

function parseError(header: string): string {
  try {
    parseXMatrix(header);
  } catch (err) {
    assert(err instanceof XMatrixParseError, String(err));
    return err.message;
  }
  throw new Error(`parsed: ${header}`);
}

Deno.test("X-Matrix: the spec's example header, and what older servers send", () => {
  const spec = parseXMatrix(
    'X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",' +
      'key="ed25519:key1",sig="ABCDEF..."',
  );
  assertEquals(spec, {
    origin: "origin.hs.example.com",
    destination: "destination.hs.example.com",
    key: "ed25519:key1",
    sig: "ABCDEF...",
  });
  // No destination (before v1.3), unquoted values with colons, another order.
  assertEquals(parseXMatrix("X-Matrix key=ed25519:a_B,origin=other.example:8448,sig=AbC+/"), {
    origin: "other.example:8448",
    key: "ed25519:a_B",
    sig: "AbC+/",
  });
});

Deno.test("X-Matrix: RFC 9110 auth-params: case, spaces, escapes, unknown parameters", () => {
  const parsed = parseXMatrix(
    'x-matrix   ORIGIN="a.example" ,\tKey = "ed25519:k" , Sig="s\\"ig", extra=1,destination=b.example',
  );
  assertEquals(parsed, {
    origin: "a.example",
    key: "ed25519:k",
    sig: 's"ig',
    destination: "b.example",
  });
});

Deno.test("X-Matrix: malformed headers are refused with a reason", () => {
  assert(parseError('Bearer origin="a",key="k",sig="s"').includes("scheme"));
  assert(parseError('X-Matrixorigin="a.example",key="k",sig="s"').includes("scheme"));
  assert(parseError('X-Matrix origin="a.example",key="k"').includes("needs"));
  assert(parseError('X-Matrix origin="a.example,key="k",sig="s"').includes("Expected"));
  assert(parseError('X-Matrix origin="a.example",key="k",sig="s').includes("Unterminated"));
  assert(
    parseError('X-Matrix origin="a.example",origin="b.example",key="k",sig="s"').includes("twice"),
  );
  assert(parseError('X-Matrix origin="not a server",key="k",sig="s"').includes("server name"));
  assert(
    parseError('X-Matrix origin="a.example",destination="@x",key="k",sig="s"').includes("server"),
  );
  assert(parseError('X-Matrix origin=,key="k",sig="s"').includes("Empty"));
  assert(parseError(`X-Matrix origin="${"a".repeat(5000)}",key="k",sig="s"`).includes("too long"));
});

Deno.test("X-Matrix: format writes what parse reads, the way older servers expect it", () => {
  const auth = { origin: "a.example", destination: "b.example:8448", key: "ed25519:k", sig: "s/+" };
  const header = formatXMatrix(auth);
  assertEquals(
    header,
    'X-Matrix origin="a.example",destination="b.example:8448",key="ed25519:k",sig="s/+"',
  );
  assertEquals(parseXMatrix(header), auth);
});

Deno.test("request signatures: signed by the origin, checked against method, URI, body, servers", async () => {
  const key = await SigningKey.generate("a1");
  const request = {
    method: "PUT",
    uri: "/_matrix/federation/v1/send/txn1?x=1",
    origin: "a.example",
    destination: "b.example",
    content: { pdus: [], edus: [{ edu_type: "m.typing", content: {} }] },
  };
  assertEquals(Object.keys(requestSigningJson(request)).sort(), [
    "content",
    "destination",
    "method",
    "origin",
    "uri",
  ]);
  const auth = parseXMatrix(await signRequest(request, key));
  assertEquals([auth.origin, auth.destination, auth.key], ["a.example", "b.example", key.keyId]);
  const { origin: _origin, ...received } = request;
  assert(await verifyRequest(received, auth, key.publicKey));
  // Any other method, target, body or destination, or another key, fails.
  assert(!(await verifyRequest({ ...received, method: "POST" }, auth, key.publicKey)));
  assert(
    !(await verifyRequest(
      { ...received, uri: "/_matrix/federation/v1/send/txn2" },
      auth,
      key.publicKey,
    )),
  );
  assert(!(await verifyRequest({ ...received, content: { pdus: [] } }, auth, key.publicKey)));
  assert(!(await verifyRequest({ ...received, destination: "c.example" }, auth, key.publicKey)));
  assert(!(await verifyRequest(received, { ...auth, origin: "c.example" }, key.publicKey)));
  const other = await SigningKey.generate("a2");
  assert(!(await verifyRequest(received, auth, other.publicKey)));
  // A GET has no content: the signed object has none either.
  const get = {
    method: "GET",
    uri: "/_matrix/federation/v1/version",
    origin: "a.example",
    destination: "b.example",
  };
  const getAuth = parseXMatrix(await signRequest(get, key));
  assert(
    await verifyRequest(
      { method: "GET", uri: get.uri, destination: "b.example" },
      getAuth,
      key.publicKey,
    ),
  );
  assert(
    !(await verifyRequest(
      { method: "GET", uri: get.uri, destination: "b.example", content: {} },
      getAuth,
      key.publicKey,
    )),
  );
});
