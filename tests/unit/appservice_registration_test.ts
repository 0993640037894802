/**
 * Registration files as bridges ship them: the spec's example, namespace matching (from the
 * start of the ID, as Synapse matches), exclusivity, defaults, and the files that must stop
 * start-up.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { ConfigError } from "../../server/config.ts";
import {
  checkRegistrations,
  loadRegistrationParser,
  matchesNamespace,
  ownsUser,
  parseRegistration,
} from "../../server/appservice/registration.ts";
import { Appservices } from "../../server/appservice/registry.ts";

const SPEC_EXAMPLE = `
id: "IRC Bridge"
url: "http://127.0.0.1:1234"
as_token: "30c05ae90a248a4188e620216fa72e349803310ec83e2a77b34fe90be6081f46"
hs_token: "312df522183efd404ec1cd22d2ffa4bbc76a8c1ccf541dd692eef281356bb74e"
sender_localpart: "_irc_bot" # Will result in @_irc_bot:example.org
namespaces:
  users:
    - exclusive: true
      regex: "@_irc_bridge_.*"
  aliases:
    - exclusive: false
      regex: "#_irc_bridge_.*"
  rooms: []
de.sorunome.msc2409.push_ephemeral: true
`;

await loadRegistrationParser();

const parse = (text: string) =>
  parseRegistration(text, { file: "test.yaml", serverName: "example.org" });

Deno.test("appservice registration: the spec's example", () => {
  const reg = parse(SPEC_EXAMPLE);
  assertEquals(reg.id, "IRC Bridge");
  assertEquals(reg.url, "http://127.0.0.1:1234");
  assertEquals(reg.sender, "@_irc_bot:example.org");
  assertEquals(reg.rateLimited, true);
  assertEquals(reg.receiveEphemeral, false);
  assertEquals(reg.protocols, []);
  assert(matchesNamespace(reg, "users", "@_irc_bridge_alice:example.org"));
  assert(matchesNamespace(reg, "users", "@_irc_bridge_alice:example.org", { exclusiveOnly: true }));
  assert(!matchesNamespace(reg, "users", "@alice:example.org"));
  // Anchored at the start only, as Synapse's re.match.
  assert(!matchesNamespace(reg, "users", "@x_irc_bridge_:example.org"));
  assert(matchesNamespace(reg, "aliases", "#_irc_bridge_chan:example.org"));
  assert(!matchesNamespace(reg, "aliases", "#_irc_bridge_chan:x", { exclusiveOnly: true }));
  assert(ownsUser(reg, "@_irc_bot:example.org"));
  assert(!ownsUser(reg, "@_irc_bot_2:example.org"));
});

Deno.test("appservice registration: url null, JSON, and every optional field", () => {
  const reg = parse(JSON.stringify({
    id: "bot",
    url: null,
    as_token: "a",
    hs_token: "h",
    sender_localpart: "bot",
    namespaces: {},
    rate_limited: false,
    receive_ephemeral: true,
    protocols: ["irc", "xmpp"],
  }));
  assertEquals(reg.url, null);
  assertEquals(reg.rateLimited, false);
  assertEquals(reg.receiveEphemeral, true);
  assertEquals(reg.protocols, ["irc", "xmpp"]);
  assertEquals(reg.namespaces.users, []);
});

Deno.test("appservice registration: bad files name their field", () => {
  const bad: [string, string][] = [
    ["url: http://x\nhs_token: h\nas_token: a\nsender_localpart: b\nnamespaces: {}\n", "id"],
    ["id: x\nhs_token: h\nas_token: a\nsender_localpart: b\nnamespaces: {}\n", "url"],
    ["id: x\nurl: ftp://x\nhs_token: h\nas_token: a\nsender_localpart: b\nnamespaces: {}\n", "url"],
    ["id: x\nurl: null\nhs_token: h\nsender_localpart: b\nnamespaces: {}\n", "as_token"],
    [
      "id: x\nurl: null\nhs_token: h\nas_token: a\nsender_localpart: B!\nnamespaces: {}\n",
      "sender",
    ],
    ["id: x\nurl: null\nhs_token: h\nas_token: a\nsender_localpart: b\n", "namespaces"],
    [
      "id: x\nurl: null\nhs_token: h\nas_token: a\nsender_localpart: b\nnamespaces:\n  users:\n    - regex: '@a.*'\n",
      "exclusive",
    ],
    [
      "id: x\nurl: null\nhs_token: h\nas_token: a\nsender_localpart: b\nnamespaces:\n  users:\n    - regex: '(['\n      exclusive: true\n",
      "regular expression",
    ],
    ["id: [unclosed\n", "YAML"],
    ["- a list\n", "mapping"],
  ];
  for (const [text, mention] of bad) {
    const err = assertThrows(() => parse(text), ConfigError) as ConfigError;
    assert(err.message.includes(mention), `${err.message} should mention ${mention}`);
    assert(err.message.includes("test.yaml"), err.message);
  }
});

Deno.test("appservice registration: ids, as_tokens and senders are unique", () => {
  const base = { url: null, hs_token: "h", namespaces: {} };
  const make = (id: string, asToken: string, sender: string) =>
    parse(JSON.stringify({ ...base, id, as_token: asToken, sender_localpart: sender }));
  checkRegistrations([make("a", "t1", "a"), make("b", "t2", "b")]);
  assertThrows(() => checkRegistrations([make("a", "t1", "a"), make("a", "t2", "b")]), ConfigError);
  assertThrows(() => checkRegistrations([make("a", "t1", "a"), make("b", "t1", "b")]), ConfigError);
  assertThrows(() => checkRegistrations([make("a", "t1", "a"), make("b", "t2", "a")]), ConfigError);
  assertThrows(() => checkRegistrations([make("a", "h", "a")]), ConfigError);
});

Deno.test("appservice registry: tokens and exclusive owners", () => {
  const registry = new Appservices([parse(SPEC_EXAMPLE)], { serverName: "example.org" });
  const token = "30c05ae90a248a4188e620216fa72e349803310ec83e2a77b34fe90be6081f46";
  assertEquals(registry.byToken(token)?.id, "IRC Bridge");
  assertEquals(registry.byToken(token.slice(1)), null);
  assertEquals(registry.exclusiveOwnerOfUser("@_irc_bridge_x:example.org")?.id, "IRC Bridge");
  assertEquals(registry.exclusiveOwnerOfUser("@_irc_bot:example.org")?.id, "IRC Bridge");
  assertEquals(registry.exclusiveOwnerOfUser("@_irc_bridge_x:elsewhere.org"), null);
  assertEquals(registry.exclusiveOwnerOfUser("@alice:example.org"), null);
  assertEquals(registry.exclusiveOwnerOfAlias("#_irc_bridge_x:example.org"), null);
});
