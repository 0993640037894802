/**
 * The URL-preview address classifier: every IPv6 form that carries an IPv4 address is judged
 * by that address, however the address is written.
 */

import {
  embeddedIpv4,
  formatIp,
  isAddressAllowed,
  parseCidr,
  parseIp,
} from "../../server/media/ip_ranges.ts";
import { assert, assertEquals } from "./assert.ts";

function allowed(text: string, ranges: string[] = []): boolean {
  const address = parseIp(text);
  assert(address !== null, `${text} parses`);
  return isAddressAllowed(address!, ranges.map((range) => parseCidr(range)!));
}

/** Spellings of 127.0.0.1 (and of other private IPv4 addresses) inside IPv6 addresses. */
const PRIVATE_IN_IPV6 = [
  // IPv4-mapped, ::ffff:0:0/96
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::FFFF:7F00:0001",
  "0:0:0:0:0:ffff:127.0.0.1",
  "0000:0000:0000:0000:0000:FFFF:7F00:0001",
  "[::ffff:127.0.0.1]",
  "::ffff:127.0.0.1%eth0",
  "[::ffff:7f00:1%25lo]",
  "::ffff:10.1.2.3",
  "::ffff:a01:203",
  "::ffff:169.254.169.254",
  "::ffff:a9fe:a9fe",
  "::ffff:192.168.0.1",
  "::ffff:0.0.0.0",
  "::ffff:100.64.0.1",
  // IPv4-translated, ::ffff:0:0:0/96 (RFC 2765)
  "::ffff:0:127.0.0.1",
  "::ffff:0:7f00:1",
  "0:0:0:0:ffff:0:7f00:1",
  "::FFFF:0:A00:1",
  // IPv4-compatible, ::/96 (deprecated)
  "::127.0.0.1",
  "::7f00:1",
  "::10.0.0.1",
  "::0.0.0.2",
  // NAT64, well-known 64:ff9b::/96 (RFC 6052)
  "64:ff9b::127.0.0.1",
  "64:ff9b::7f00:1",
  "64:FF9B:0:0:0:0:A00:1",
  "64:ff9b::192.168.1.1",
  // NAT64, local-use 64:ff9b:1::/48 (RFC 8215): refused whatever it carries
  "64:ff9b:1::7f00:1",
  "64:ff9b:1::8.8.8.8",
  "64:ff9b:1:ff00::",
  // 6to4, 2002::/16: IPv4 in bits 16-47
  "2002:7f00:1::",
  "2002:7f00:0001:0:0:0:0:1",
  "2002:a00:1::1",
  "2002:c0a8:101::1",
  "2002:a9fe:a9fe::",
  // Teredo, 2001::/32: server in bits 32-63, client inverted in the last 32 bits
  "2001:0:7f00:1::1",
  "2001::808:808:0:0:80ff:fffe",
  "2001:0:4136:e378:8000:63bf:3fff:fdd2",
  // ISATAP interface IDs under any prefix
  "2a00:1450::5efe:127.0.0.1",
  "2a00:1450::200:5efe:a00:1",
  "fe80::5efe:7f00:1",
];

Deno.test("ip ranges: IPv6 forms that carry a private IPv4 address are refused", () => {
  for (const text of PRIVATE_IN_IPV6) assert(!allowed(text), text);
});

Deno.test("ip ranges: the same forms carrying a public IPv4 address are allowed", () => {
  const publicForms = [
    "::ffff:8.8.8.8",
    "::ffff:808:808",
    "::ffff:0:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "::8.8.8.8",
    "2a00:1450::5efe:8.8.8.8",
  ];
  for (const text of publicForms) assert(allowed(text), text);
  // Teredo is refused as a whole (2001::/23), whatever it carries.
  assert(!allowed("2001:0:808:808::f7f7:f7f7"));
});

Deno.test("ip ranges: embedded addresses decode from each form", () => {
  const decoded = (text: string) => embeddedIpv4(parseIp(text)!).map(formatIp);
  assertEquals(decoded("::ffff:7f00:1"), ["127.0.0.1"]);
  assertEquals(decoded("::ffff:0:a00:1"), ["10.0.0.1"]);
  assertEquals(decoded("64:ff9b::c0a8:101"), ["192.168.1.1"]);
  assertEquals(decoded("2002:c000:204::1"), ["192.0.2.4"]);
  assertEquals(decoded("2001:0:4136:e378:8000:63bf:3fff:fdd2"), [
    "65.54.227.120",
    "192.0.2.45",
  ]);
  assertEquals(decoded("2a00::5efe:102:304"), ["1.2.3.4"]);
  assertEquals(decoded("2a00:1450:4001:80b::200e"), []);
  assertEquals(decoded("8.8.8.8"), []);
});

Deno.test("ip ranges: special-purpose IPv6 and IPv4 ranges, public addresses", () => {
  const refused = [
    "::",
    "::1",
    "0:0:0:0:0:0:0:1",
    "[::1]",
    "fe80::1",
    "FE80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "5f00::1",
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "10.0.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "192.0.0.8",
    "192.168.1.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
  ];
  for (const text of refused) assert(!allowed(text), text);
  for (const text of ["93.184.216.34", "8.8.8.8", "2a00:1450:4001:80b::200e", "2606:4700::1"]) {
    assert(allowed(text), text);
  }
});

Deno.test("ip ranges: operator-allowed ranges, in IPv4 or IPv6 form", () => {
  assert(allowed("127.0.0.1", ["127.0.0.1/32"]));
  assert(allowed("::ffff:127.0.0.1", ["127.0.0.1/32"]), "an allowed IPv4 address, mapped");
  assert(allowed("64:ff9b::a00:1", ["10.0.0.0/8"]));
  assert(!allowed("::ffff:127.0.0.2", ["127.0.0.1/32"]));
  assert(!allowed("64:ff9b:1::a00:1", ["10.0.0.0/8"]), "local-use NAT64 stays refused");
  assert(allowed("64:ff9b:1::a00:1", ["64:ff9b:1::/48"]), "unless allowed itself");
  assert(allowed("fd00::5", ["fd00::/8"]));
});

Deno.test("ip ranges: what is not an address", () => {
  for (
    const text of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      "256.0.0.1",
      "::ffff:256.0.0.1",
      "::ffff:127.1",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":::",
      "12345::",
      "::g",
      "fe80::1%",
      "fe80::1%e th0",
      "1.2.3.4%eth0",
      "[::1",
    ]
  ) {
    assertEquals(parseIp(text), null, JSON.stringify(text));
  }
});
