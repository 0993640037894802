/**
 * Packaging stays in step with the code (no Docker engine or systemd here, so the files are read
 * and checked against what exists): `deno task compile` embeds every file the server reads from
 * the source tree at run time; the Dockerfile builds with that task and runs the binary with
 * `/data` and ports 80/443 and a config that parses; the systemd unit runs a command the CLI has,
 * with the state directory the install guide's config uses; the guide's config parses and its
 * commands exist.
 */

import { assert, assertEquals } from "./assert.ts";
import { parseConfig } from "../../server/config.ts";
import { USAGE } from "../../server/cli.ts";
import { GC_GLOBAL } from "../../server/memory_trim.ts";
import { SERVER_V8_FLAGS } from "../../bench/load/processes.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(new URL(path, root));
    return true;
  } catch {
    return false;
  }
}

async function compileTask(): Promise<string> {
  const denoJson = JSON.parse(await read("deno.json"));
  return denoJson.tasks.compile as string;
}

/** Source files under server/ and main.ts. */
async function sources(): Promise<string[]> {
  const out = ["main.ts"];
  async function walk(dir: string) {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.name.endsWith(".ts")) out.push(path);
    }
  }
  await walk("server/");
  return out;
}

Deno.test("packaging: deno task compile embeds what the server reads from its own tree", async () => {
  const task = await compileTask();
  assert(task.startsWith("deno run -A web/build.ts && deno compile "), task);
  assert(/--output gemeng main\.ts$/.test(task), task);
  const includes = [...task.matchAll(/--include (\S+)/g)].map((m) => m[1]);
  assert(includes.includes("dist"), "the web app (dist/) is embedded");
  for (const path of includes.filter((p) => p !== "dist")) {
    assert(await exists(path), `--include ${path} exists`);
  }
  // Files found next to the source at run time (new URL("...", import.meta.url)).
  const reads: string[] = [];
  for (const file of await sources()) {
    const text = await read(file);
    for (const m of text.matchAll(/new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)/g)) {
      const resolved = new URL(m[1], new URL(file, root)).pathname.slice(root.pathname.length);
      reads.push(resolved.replace(/\/$/, ""));
    }
  }
  assert(reads.length >= 2, `found ${reads.join(", ")}`);
  for (const path of reads) {
    assert(
      includes.some((inc) => path === inc || path.startsWith(`${inc}/`)),
      `${path} is read at run time but not embedded by --include`,
    );
  }
});

Deno.test("packaging: the Dockerfile builds with the compile task and runs the binary", async () => {
  const dockerfile = await read("Dockerfile");
  const lines = dockerfile.split("\n").filter((l) => !l.startsWith("#"));
  const text = lines.join("\n");
  const stages = lines.filter((l) => l.startsWith("FROM "));
  assertEquals(stages.length, 2, "a build stage and a runtime stage");
  assert(/^FROM \S+ AS build$/.test(stages[0]), stages[0]);
  assert(/^FROM debian:\S+-slim$/.test(stages[1]), stages[1]);
  assert(/npm install -g "deno@\$\{DENO_VERSION\}"/.test(text), "Deno comes from npm");
  assert(/ARG DENO_VERSION=2\.\d+\.\d+/.test(text), "a pinned Deno 2 version");
  assert(text.includes("deno install --frozen && deno task compile"), "the compile task builds");
  assert(text.includes("COPY --from=build /src/gemeng /usr/local/bin/gemeng"));
  assert(/^VOLUME \/data$/m.test(text));
  assert(/^EXPOSE 80 443$/m.test(text));
  assert(/^USER gemeng$/m.test(text), "not root");
  assert(text.includes("setcap cap_net_bind_service=+ep /usr/local/bin/gemeng"));
  const copy = /^COPY (packaging\/\S+) (\S+)$/m.exec(text);
  assert(copy, "the image's config is copied in");
  const cmd = /^CMD \["serve", "--config", "([^"]+)"\]$/m.exec(text);
  assert(cmd && cmd[1] === copy[2], "the CMD names the copied config");
  assert(/^ENTRYPOINT \["\/usr\/local\/bin\/gemeng"\]$/m.test(text));
  const config = parseConfig(await read(copy[1]));
  assertEquals(config.dataDir, "/data");
  assertEquals(config.http.listen, "0.0.0.0:80");
  const ignore = (await read(".dockerignore")).split("\n");
  for (const name of ["node_modules", "dist", ".git"]) assert(ignore.includes(name), name);
});

Deno.test("packaging: the systemd unit and the install guide agree with the CLI", async () => {
  const unit = await read("packaging/gemeng.service");
  const setting = (name: string) =>
    [...unit.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]);
  assertEquals(setting("ExecStart"), [
    "/usr/local/bin/gemeng serve --config /etc/gemeng/gemeng.toml",
  ]);
  assertEquals(setting("User"), ["gemeng"]);
  assertEquals(setting("StateDirectory"), ["gemeng"]);
  assertEquals(setting("AmbientCapabilities"), ["CAP_NET_BIND_SERVICE"]);
  assertEquals(setting("CapabilityBoundingSet"), ["CAP_NET_BIND_SERVICE"]);
  assertEquals(setting("NoNewPrivileges"), ["yes"]);
  assertEquals(setting("ProtectSystem"), ["strict"]);
  // V8 compiles code at run time: this option would stop the server at start.
  assertEquals(setting("MemoryDenyWriteExecute"), []);
  assert(/^\s+serve\s/m.test(USAGE), "the CLI has serve");

  const guide = await read("docs/install.md");
  const toml = /```toml\n([\s\S]*?)```/.exec(guide);
  assert(toml, "the guide shows a config");
  const config = parseConfig(toml[1]);
  assertEquals(config.dataDir, "/var/lib/gemeng", "data_dir is the unit's StateDirectory");
  assertEquals(config.http.tls, "acme");
  assertEquals(config.http.listen, "0.0.0.0:443");
  assertEquals(config.http.httpListen, "0.0.0.0:80");
  assert(config.backup.schedule !== null);
  const commands = new Set<string>();
  for (const m of guide.matchAll(/\bgemeng (user create|token create|backup|restore)\b/g)) {
    commands.add(m[1]);
  }
  assertEquals([...commands].sort(), ["backup", "restore", "token create", "user create"]);
  for (const command of commands) {
    assert(new RegExp(`^\\s+${command}\\b`, "m").test(USAGE), `the CLI has ${command}`);
  }
});

Deno.test({
  name: "packaging: systemd-analyze finds nothing wrong in the unit but the absent binary",
  ignore: !(await exists("packaging/gemeng.service")) || !(await Deno.stat(
    "/usr/bin/systemd-analyze",
  ).then(() => true, () => false)),
  async fn() {
    const out = await new Deno.Command("/usr/bin/systemd-analyze", {
      args: ["verify", new URL("packaging/gemeng.service", root).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const messages = new TextDecoder().decode(out.stderr).split("\n")
      .filter((line) => line.trim() !== "" && !line.includes("/usr/local/bin/gemeng"));
    assertEquals(messages, []);
  },
});

Deno.test("packaging: deno task start and the compiled binary run with the same V8 flags", async () => {
  const tasks = JSON.parse(await read("deno.json")).tasks as Record<string, string>;
  const v8Flags = (task: string) => task.split(" ").filter((arg) => arg.startsWith("--v8-flags="));
  const start = v8Flags(tasks.start);
  assertEquals(start.length, 1, tasks.start);
  assertEquals(v8Flags(tasks.compile), start);
  // The idle trim's compacting collection is reachable under the name it looks for.
  const flags = start[0].slice("--v8-flags=".length).split(",");
  assert(flags.includes(`--expose-gc-as=${GC_GLOBAL}`), start[0]);
  // The bench measures the server as deployed.
  assertEquals(SERVER_V8_FLAGS, start);
});
