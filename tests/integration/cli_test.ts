import { assert, assertEquals } from "../unit/assert.ts";
import { startTestServer } from "../support/test_server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("cli: user create, reset-password, token create against a config file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-cli-" });
  try {
    const configPath = `${dir}/gemeng.toml`;
    await Deno.writeTextFile(
      configPath,
      `server_name = "localhost"\ndata_dir = "${dir}/data"\n[registration]\nenabled = true\n`,
    );
    const created = await run([
      "user",
      "create",
      "admin",
      "--admin",
      "--password",
      "pw-1",
      "--config",
      configPath,
    ]);
    assertEquals(created.code, 0, created.stderr);
    assert(created.stdout.includes("@admin:localhost"));

    const generated = await run(["user", "create", "bob", "--config", configPath]);
    assertEquals(generated.code, 0, generated.stderr);
    const bobPassword = /password: (\S+)/.exec(generated.stdout)?.[1];
    assert(bobPassword, generated.stdout);

    const dup = await run(["user", "create", "admin", "--config", configPath]);
    assertEquals(dup.code, 1);

    const token = await run([
      "token",
      "create",
      "--uses",
      "1",
      "--expires",
      "2999-01-01",
      "--config",
      configPath,
    ]);
    assertEquals(token.code, 0, token.stderr);
    const registrationToken = token.stdout.trim();
    assert(/^[A-Za-z0-9]{16,64}$/.test(registrationToken), registrationToken);

    const badConfig = `${dir}/bad.toml`;
    await Deno.writeTextFile(badConfig, `[http]\nlisen = "x"\n`);
    const bad = await run(["user", "create", "x", "--config", badConfig]);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes("http.lisen"), bad.stderr);

    // The server, on the same data directory, sees what the CLI wrote.
    let t = await startTestServer({
      dataDir: `${dir}/data`,
      config: { registration: { require_token: true } },
    });
    try {
      await t.login("admin", "pw-1");
      await t.login("bob", bobPassword);
      const first = await t.request("POST", "/_matrix/client/v3/register", { body: {} });
      const reg = await t.request("POST", "/_matrix/client/v3/register", {
        body: {
          username: "carol",
          password: "pw",
          auth: {
            type: "m.login.registration_token",
            token: registrationToken,
            session: first.body.session,
          },
        },
      });
      assertEquals(reg.status, 200, JSON.stringify(reg.body));
    } finally {
      await t.close();
    }

    const reset = await run([
      "user",
      "reset-password",
      "@bob:localhost",
      "--password",
      "pw-2",
      "--config",
      configPath,
    ]);
    assertEquals(reset.code, 0, reset.stderr);
    t = await startTestServer({ dataDir: `${dir}/data` });
    try {
      await t.login("bob", "pw-2");
      const old = await t.request("POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", user: "bob", password: bobPassword },
      });
      assertEquals(old.status, 403);
    } finally {
      await t.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: serve starts and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-serve-" });
  try {
    const configPath = `${dir}/gemeng.toml`;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await Deno.writeTextFile(
      configPath,
      `data_dir = "${dir}/data"\n[http]\nlisten = "127.0.0.1:${port}"\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", "--config", configPath],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let body: { versions?: string[] } = {};
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
        body = await res.json();
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert(body.versions?.includes("v1.1"));
    child.kill("SIGTERM");
    const status = await child.status;
    const stderr = new TextDecoder().decode(
      (await new Response(child.stderr).arrayBuffer()) as ArrayBuffer,
    );
    assertEquals(status.code, 0, stderr);
    assert(stderr.includes("shutting down"), stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
