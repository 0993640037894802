import { assert, assertEquals } from "../unit/assert.ts";
import { runCli } from "../../server/cli.ts";
import { loadConfig } from "../../server/config.ts";
import { Homeserver } from "../../server/homeserver.ts";
import { MediaRepository } from "../../server/media/repository.ts";

function bodyOf(text: string): ReadableStream<Uint8Array> {
  return new Blob([text]).stream();
}

Deno.test("CLI: media largest, delete, purge-user, purge-remote", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gemeng-media-cli-" });
  const configPath = `${dir}/gemeng.toml`;
  await Deno.writeTextFile(configPath, `data_dir = "${dir}/data"\n`);
  try {
    const hs = await Homeserver.open(await loadConfig(configPath));
    const repo = MediaRepository.of(hs);
    const small = await repo.upload(bodyOf("small"), {
      uploader: "@anna:localhost",
      contentType: "text/plain",
      fileName: "a.txt",
    });
    await repo.upload(bodyOf("a larger file"), {
      uploader: "@anna:localhost",
      contentType: "text/plain",
      fileName: null,
    });
    await repo.storeBytes(new TextEncoder().encode("remote"), {
      contentType: "text/plain",
      fileName: null,
      origin: "remote.example",
      cachedTs: Date.now() - 10 * 86400_000,
    });
    await hs.close();

    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli([...args, "--config", configPath], {
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      });
      return { code, out, err };
    };
    const largest = await run("media", "largest", "--limit", "2");
    assertEquals(largest.code, 0);
    assertEquals(largest.out.length, 2);
    assert(largest.out[0].startsWith("13\tmxc://localhost/"), largest.out[0]);

    const deleted = await run("media", "delete", `mxc://localhost/${small.mediaId}`);
    assertEquals(deleted.out, [`deleted mxc://localhost/${small.mediaId}`]);
    assertEquals((await run("media", "purge-user", "@anna:localhost")).out, [
      "deleted 1 media of @anna:localhost",
    ]);
    assertEquals((await run("media", "purge-remote", "--before-days", "30")).out, [
      "deleted 0 cached remote media",
    ]);
    assertEquals((await run("media", "purge-remote", "--before-days", "7")).out, [
      "deleted 1 cached remote media",
    ]);
    assertEquals((await run("media", "largest")).out, []);
    assertEquals((await run("media", "delete", "nonsense")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
