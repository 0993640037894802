import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  canonicalJson,
  canonicalJsonBytes,
  CanonicalJsonError,
  compareCodePoints,
} from "../../crypto/canonical_json.ts";

// Appendix "Canonical JSON > Examples", inputs as the spec writes them (parsed with JSON.parse,
// as a server receiving them would) and the expected canonical output, verbatim.
const SPEC_EXAMPLES: [string, string][] = [
  [`{}`, `{}`],
  [
    `{
    "one": 1,
    "two": "Two"
}`,
    `{"one":1,"two":"Two"}`,
  ],
  [
    `{
    "b": "2",
    "a": "1"
}`,
    `{"a":"1","b":"2"}`,
  ],
  [`{"b":"2","a":"1"}`, `{"a":"1","b":"2"}`],
  [
    `{
    "auth": {
        "success": true,
        "mxid": "@john.doe:example.com",
        "profile": {
            "display_name": "John Doe",
            "three_pids": [
                {
                    "medium": "email",
                    "address": "john.doe@example.org"
                },
                {
                    "medium": "msisdn",
                    "address": "123456789"
                }
            ]
        }
    }
}`,
    `{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}`,
  ],
  [
    `{
    "a": "日本語"
}`,
    `{"a":"日本語"}`,
  ],
  [
    `{
    "本": 2,
    "日": 1
}`,
    `{"日":1,"本":2}`,
  ],
  [
    `{
    "a": "\\u65E5"
}`,
    `{"a":"日"}`,
  ],
  [
    `{
    "a": null
}`,
    `{"a":null}`,
  ],
  [
    `{
    "a": -0,
    "b": 1e10
}`,
    `{"a":0,"b":10000000000}`,
  ],
];

Deno.test("canonical JSON: every spec example, strict and non-strict", () => {
  for (const [input, expected] of SPEC_EXAMPLES) {
    const value = JSON.parse(input);
    assertEquals(canonicalJson(value), expected, input);
    assertEquals(canonicalJson(value, { strict: true }), expected, input);
    assertEquals(canonicalJsonBytes(value), new TextEncoder().encode(expected));
  }
});

Deno.test("canonical JSON: the \\u65E5 example really is an escape in the input", () => {
  assertEquals(SPEC_EXAMPLES[7][0].includes("\\u65E5"), true);
});

Deno.test("canonical JSON: keys sort by code point, not UTF-16 code unit", () => {
  // U+1F600 (surrogates D83D DE00) sorts after U+FF21 by code point, before it by code unit.
  const astral = "\u{1F600}";
  const highBmp = "\uFF21";
  const value = { [astral]: 1, [highBmp]: 2, "a": 3, "\u00e9": 4, "\uE000": 5 };
  assertEquals(canonicalJson(value), `{"a":3,"é":4,"\uE000":5,"Ａ":2,"😀":1}`);
  assert(compareCodePoints(astral, highBmp) > 0);
  assert(compareCodePoints("\uD7FF", astral) < 0);
  assert(compareCodePoints("a", "ab") < 0);
  assertEquals(compareCodePoints("x", "x"), 0);
  // Two astral characters sharing a high surrogate.
  assert(compareCodePoints("\u{1F601}", "\u{1F600}") > 0);
  assert(compareCodePoints("\u{10000}", "\u{1F600}") < 0);
  // Keys that share a prefix and differ only after it.
  assertEquals(
    canonicalJson({ "k\u{1F600}": 1, "k\uFFFD": 2, "k": 0 }),
    `{"k":0,"k\uFFFD":2,"k😀":1}`,
  );
});

Deno.test("canonical JSON: escaping follows the spec grammar", () => {
  const all = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join("");
  assertEquals(
    canonicalJson(all),
    `"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f` +
      `\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b` +
      `\\u001c\\u001d\\u001e\\u001f"`,
  );
  assertEquals(canonicalJson(`say "hi" \\ bye`), `"say \\"hi\\" \\\\ bye"`);
  // Everything else raw: slash, DEL, U+2028/2029, non-ASCII, astral.
  const raw = "/\u007f\u2028\u2029é日😀";
  assertEquals(canonicalJson(raw), `"${raw}"`);
  assertEquals(canonicalJson({ "\n": "\t" }), `{"\\n":"\\t"}`);
  assertEquals(
    canonicalJsonBytes("é😀"),
    Uint8Array.of(0x22, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0x22),
  );
});

Deno.test("canonical JSON: lone surrogates are rejected, in values and keys", () => {
  for (const bad of ["\uD800", "a\uDC00b", "\uDE00\uD83D", "x\uD83D"]) {
    assertThrows(() => canonicalJson(bad), CanonicalJsonError, "lone surrogate");
    assertThrows(() => canonicalJson({ [bad]: 1 }), CanonicalJsonError, "lone surrogate");
  }
});

Deno.test("canonical JSON: nesting, arrays and literals", () => {
  assertEquals(canonicalJson([]), "[]");
  assertEquals(
    canonicalJson([1, [2, [3, {}]], null, true, false, ""]),
    `[1,[2,[3,{}]],null,true,false,""]`,
  );
  assertEquals(
    canonicalJson({ z: { y: [{ b: 1, a: 2 }] }, a: [] }),
    `{"a":[],"z":{"y":[{"a":2,"b":1}]}}`,
  );
  assertEquals(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 })), `{"a":2,"b":1}`);
  assertEquals(canonicalJson(JSON.parse(`{"__proto__": 1}`)), `{"__proto__":1}`);
  assertEquals(canonicalJson("plain"), `"plain"`);
});

Deno.test("canonical JSON: integers at the edge of the range", () => {
  const max = 2 ** 53 - 1;
  assertEquals(
    canonicalJson({ a: max, b: -max }, { strict: true }),
    `{"a":9007199254740991,"b":-9007199254740991}`,
  );
  assertEquals(canonicalJson(-0, { strict: true }), "0");
  assertEquals(canonicalJson(-5, { strict: true }), "-5");
});

Deno.test("canonical JSON: strict mode rejects floats and out-of-range integers", () => {
  for (const bad of [1.5, 2 ** 53, -(2 ** 53), 1e21, 0.1, -1e-7]) {
    const error = assertThrows(
      () => canonicalJson({ content: { n: [0, bad] } }, { strict: true }),
      CanonicalJsonError,
    ) as CanonicalJsonError;
    assertEquals(error.code, "M_BAD_JSON");
    assertEquals(error.path, "$.content.n[1]");
    assert(error.message.includes("$.content.n[1]"), error.message);
  }
});

Deno.test("canonical JSON: non-strict mode accepts them (room versions 1-5)", () => {
  assertEquals(canonicalJson(1.5), "1.5");
  assertEquals(canonicalJson(2 ** 53), "9007199254740992");
  assertEquals(canonicalJson(-(2 ** 53)), "-9007199254740992");
  assertEquals(canonicalJson(1e21), "1000000000000000000000");
  assertEquals(canonicalJson(-1e-7), "-1e-7");
  assertEquals(canonicalJson({ depth: 2 ** 60 }), `{"depth":1152921504606846976}`);
});

Deno.test("canonical JSON: NaN and infinities are always rejected", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assertThrows(() => canonicalJson({ a: bad }), CanonicalJsonError, "$.a");
    assertThrows(() => canonicalJson([bad], { strict: true }), CanonicalJsonError, "$[0]");
  }
});

Deno.test("canonical JSON: non-JSON values are rejected with their path", () => {
  const cases: [unknown, string][] = [
    [undefined, "$"],
    [{ a: undefined }, "$.a"],
    [[1, undefined], "$[1]"],
    [{ f: () => 1 }, "$.f"],
    [{ b: 1n }, "$.b"],
    [{ s: Symbol("x") }, "$.s"],
    [{ d: new Date(0) }, "$.d"],
    [{ u: new Uint8Array(1) }, "$.u"],
    [{ m: new Map() }, "$.m"],
    [{ "weird key": { "ü": [0, 1, [undefined]] } }, `$["weird key"]["ü"][2][0]`],
    [[1, , 3], "$[1]"],
    [{ [Symbol("k")]: 1 }, "$"],
  ];
  for (const [value, path] of cases) {
    const error = assertThrows(
      () => canonicalJson(value),
      CanonicalJsonError,
    ) as CanonicalJsonError;
    assertEquals(error.path, path, error.message);
    assertEquals(error.code, "M_BAD_JSON");
  }
});

Deno.test("canonical JSON: cycles are rejected, shared references are not", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  assertThrows(() => canonicalJson(cyclic), CanonicalJsonError, "cyclic reference at $.self.back");
  const shared = { x: 1 };
  assertEquals(
    canonicalJson({ a: shared, b: [shared, shared] }),
    `{"a":{"x":1},"b":[{"x":1},{"x":1}]}`,
  );
});

Deno.test("canonical JSON: output parses back to an equal value", () => {
  const value = {
    type: "m.room.message",
    content: { body: "héllo \u{1F600}\n", msgtype: "m.text", nested: [{ "\u0001": -42 }] },
    origin_server_ts: 1700000000000,
  };
  assertEquals(JSON.parse(canonicalJson(value, { strict: true })), value);
});

Deno.test("canonical JSON: deep nesting is encoded as shallow nesting is", () => {
  // Past the fast encoder's depth the careful one takes over; both give the same bytes.
  let value: unknown = { b: [1, "x"], a: null };
  for (let i = 0; i < 200; i++) value = i % 2 ? { z: value, y: i } : [value, true];
  assertEquals(canonicalJson(value), JSON.stringify(sortKeys(value)));
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, sortKeys(record[k])]));
}
