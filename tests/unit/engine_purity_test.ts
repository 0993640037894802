/**
 * Proves the room engine (federation/ pure core) and crypto/ do no I/O: it walks the import
 * graph from every engine module and scans each reached file for I/O, clock and randomness.
 */
import { assertEquals } from "./assert.ts";

const root = new URL("../../", import.meta.url);

/** Folders of federation/ that hold I/O (transport); everything else there must be pure. */
const TRANSPORT_DIRS = ["federation/transport/"];

interface Rule {
  pattern: RegExp;
  what: string;
  /** Folders where this rule does not apply. */
  allowedIn?: string[];
}

const RULES: Rule[] = [
  { pattern: /\bDeno\./, what: "Deno runtime API" },
  { pattern: /\bfetch\s*\(/, what: "network fetch" },
  { pattern: /\bDate\.now\s*\(|\bnew Date\s*\(|\bperformance\.now\s*\(/, what: "clock" },
  { pattern: /\bMath\.random\s*\(/, what: "randomness" },
  { pattern: /\bgetRandomValues\s*\(/, what: "randomness", allowedIn: ["crypto/"] },
  { pattern: /\bset(Timeout|Interval)\s*\(/, what: "timer" },
  { pattern: /\bWebSocket\b|\bXMLHttpRequest\b|\bindexedDB\b/, what: "I/O object" },
];

const ALLOWED_BARE_IMPORTS = new Set(["node:crypto", "node:buffer"]);

/** Lists rule violations in one source text (path is relative to the repository root). */
export function findViolations(path: string, source: string): string[] {
  const found: string[] = [];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  for (const rule of RULES) {
    if (rule.allowedIn?.some((dir) => path.startsWith(dir))) continue;
    if (rule.pattern.test(code)) found.push(`${path}: ${rule.what}`);
  }
  for (const spec of importSpecifiers(code)) {
    if (spec.startsWith(".")) continue;
    if (!ALLOWED_BARE_IMPORTS.has(spec)) found.push(`${path}: imports ${spec}`);
  }
  return found;
}

function importSpecifiers(code: string): string[] {
  const specs: string[] = [];
  const re =
    /\b(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g;
  for (const m of code.matchAll(re)) specs.push(m[1] ?? m[2]);
  return specs;
}

async function engineEntryPoints(): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string) {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) {
        if (!TRANSPORT_DIRS.includes(`${path}/`)) await walk(`${path}/`);
      } else if (entry.name.endsWith(".ts")) files.push(path);
    }
  }
  await walk("federation/");
  await walk("crypto/");
  return files;
}

Deno.test("engine purity: the scanner catches I/O, clocks and foreign imports", () => {
  const bad = [
    'import { x } from "npm:hono";',
    'import { y } from "../server/store.ts";',
    "const t = Date.now();",
    "await fetch(url);",
    "Deno.readFile(p);",
    "const r = Math.random();",
  ].join("\n");
  const violations = findViolations("federation/bad.ts", bad);
  assertEquals(violations.length, 5); // the server/ import is caught by the graph walk below
  assertEquals(findViolations("federation/ok.ts", 'import { a } from "./b.ts"; // Date.now()'), []);
});

Deno.test("engine purity: federation core and crypto reach only pure files", async () => {
  const queue = await engineEntryPoints();
  const seen = new Set<string>();
  const violations: string[] = [];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const inPureTree = (path.startsWith("federation/") &&
      !TRANSPORT_DIRS.some((d) => path.startsWith(d))) || path.startsWith("crypto/");
    if (!inPureTree) {
      violations.push(`${path}: reached from the engine but outside federation/ and crypto/`);
      continue;
    }
    const source = await Deno.readTextFile(new URL(path, root));
    violations.push(...findViolations(path, source));
    for (const spec of importSpecifiers(source)) {
      if (!spec.startsWith(".")) continue;
      const resolved = new URL(spec, new URL(path, root)).pathname.slice(root.pathname.length);
      queue.push(resolved);
    }
  }
  assertEquals(violations, []);
  if (seen.size < 2) throw new Error("the engine has no modules to check");
});
