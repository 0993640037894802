/**
 * Identifier grammar (appendices "Identifier Grammar"): server names, user IDs (strict and
 * historical), room IDs in both forms, event IDs per format, aliases, and their parts.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  isValidEventId,
  isValidRoomAlias,
  isValidRoomId,
  isValidServerName,
  isValidUserId,
  localpartOf,
  parseServerName,
  serverNameOf,
  utf8ByteLength,
} from "../../federation/identifiers.ts";

const HASH_STD = "CD66HAED5npg6074c6pDtLKa+HjVfYb2q4Q3LZgr/6o";
const HASH_URL = "Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg";

Deno.test("server names: the spec's examples are valid and parse into host and port", () => {
  assertEquals(parseServerName("matrix.org"), { host: "matrix.org" });
  assertEquals(parseServerName("matrix.org:8888"), { host: "matrix.org", port: 8888 });
  assertEquals(parseServerName("1.2.3.4"), { host: "1.2.3.4" });
  assertEquals(parseServerName("1.2.3.4:1234"), { host: "1.2.3.4", port: 1234 });
  assertEquals(parseServerName("[1234:5678::abcd]"), { host: "[1234:5678::abcd]" });
  assertEquals(parseServerName("[1234:5678::abcd]:5678"), {
    host: "[1234:5678::abcd]",
    port: 5678,
  });
  for (const ok of ["localhost", "a-b.example", "MATRIX.ORG", "[::1]", "[::ffff:1.2.3.4]:8"]) {
    assert(isValidServerName(ok), ok);
  }
  assert(isValidServerName("[1:2:3:4:5:6:7:8]"));
});

Deno.test("server names: malformed hosts and ports are refused", () => {
  const bad = [
    "",
    "matrix.org:",
    "matrix.org:123456",
    "matrix.org:80a",
    "matrix.org:-1",
    "under_score.org",
    "spa ce.org",
    "1.2.3.256",
    "[1234:5678::abcd",
    "[1:2:3:4:5:6:7:8:9]",
    "[1:2:3:4:5:6:7]",
    "[1::2::3]",
    "[12345::1]",
    "[::1]x",
    "[::g]",
    "ex\u00e4mple.org",
    "a".repeat(256),
  ];
  for (const s of bad) assert(!isValidServerName(s), JSON.stringify(s));
  assert(isValidServerName("a".repeat(255)));
});

Deno.test("user IDs: the strict grammar, and the historical one for remote senders", () => {
  for (const ok of ["@alice:example.org", "@a.b_c=d-e/f+g:matrix.org:8448", "@0:[::1]"]) {
    assert(isValidUserId(ok), ok);
  }
  for (const historical of ["@Alice:example.org", "@:example.org", "@caf\u00e9 \u0007:x.org"]) {
    assert(!isValidUserId(historical), historical);
    assert(isValidUserId(historical, { historical: true }), historical);
  }
  const bad = ["alice:example.org", "@alice", "@alice:", "@alice:bad host", "@a\0b:x.org"];
  for (const s of bad) {
    assert(!isValidUserId(s, { historical: true }), JSON.stringify(s));
  }
  assert(!isValidUserId("@a\ud800:x.org", { historical: true }), "lone surrogate");
});

Deno.test("user IDs: at most 255 bytes, counted in UTF-8", () => {
  const domain = ":example.org";
  const fits = "@" + "a".repeat(255 - 1 - domain.length) + domain;
  assertEquals(fits.length, 255);
  assert(isValidUserId(fits));
  assert(!isValidUserId("@a" + fits.slice(1)));
  // 2-byte characters: 126 of them is 252 bytes, plus the sigil and ":x.y" is 257.
  const wide = "@" + "\u00e9".repeat(126) + ":x.y";
  assertEquals(utf8ByteLength(wide), 257);
  assert(wide.length < 255);
  assert(!isValidUserId(wide, { historical: true }));
});

Deno.test("room IDs: domain form before v12, hash form in v12", () => {
  assert(isValidRoomId("!abc:example.org"));
  assert(isValidRoomId("!abc:example.org", { domainless: false }));
  assert(!isValidRoomId("!abc:example.org", { domainless: true }));
  const v12 = "!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ";
  assert(isValidRoomId(v12));
  assert(isValidRoomId(v12, { domainless: true }));
  assert(!isValidRoomId(v12, { domainless: false }));
  for (const bad of ["abc:example.org", "!:example.org", "!abc", "!abc:", "!" + HASH_STD]) {
    assert(!isValidRoomId(bad), bad);
  }
  assert(!isValidRoomId("!" + "a".repeat(250) + ":x.org"));
});

Deno.test("event IDs: v1 with a domain, v3 standard base64, v4 URL-safe base64", () => {
  const v1 = "$a4ecee13e2accdadf56c1025:example.com";
  assert(isValidEventId(v1, { format: "v1" }));
  assert(!isValidEventId(v1, { format: "v3" }));
  assert(isValidEventId("$" + HASH_STD, { format: "v3" }));
  assert(!isValidEventId("$" + HASH_STD, { format: "v4" }));
  assert(isValidEventId("$" + HASH_URL, { format: "v4" }));
  assert(!isValidEventId("$" + HASH_URL, { format: "v3" }));
  for (const id of [v1, "$" + HASH_STD, "$" + HASH_URL]) assert(isValidEventId(id), id);
  for (const bad of ["$", "$abc", "$" + HASH_URL + "A", HASH_URL, "$:x.org", "$a:bad host"]) {
    assert(!isValidEventId(bad), bad);
  }
});

Deno.test("room aliases: #localpart:server_name within 255 bytes", () => {
  assert(isValidRoomAlias("#room:example.org"));
  assert(isValidRoomAlias("#Caf\u00e9 talk:example.org:8448"));
  for (const bad of ["room:example.org", "#room", "#:example.org", "#a\0:x.org"]) {
    assert(!isValidRoomAlias(bad), bad);
  }
  assert(!isValidRoomAlias("#" + "a".repeat(250) + ":x.org"));
});

Deno.test("serverNameOf and localpartOf split at the first colon", () => {
  assertEquals(serverNameOf("@alice:example.org:8448"), "example.org:8448");
  assertEquals(serverNameOf("#room:[::1]:80"), "[::1]:80");
  assertEquals(serverNameOf("!abc:example.org"), "example.org");
  assertEquals(serverNameOf("$ev:example.org"), "example.org");
  assertEquals(serverNameOf("!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"), undefined);
  assertEquals(localpartOf("@alice:example.org:8448"), "alice");
  assertEquals(localpartOf("@:example.org"), "");
  assertEquals(localpartOf("$" + HASH_URL), HASH_URL);
});
