/**
 * Debian's ClamAV daemon for tests: started in the foreground on a Unix socket, with a signature
 * database made here (`sigtool --md5` of the EICAR test file), since the public signature feeds
 * cannot be downloaded.
 *
 * @module
 */

import { assert } from "../unit/assert.ts";

const CLAMD = "/usr/sbin/clamd";
const SIGTOOL = "/usr/bin/sigtool";

/** The EICAR test file: 68 bytes every virus scanner reports, harmless by design. */
export const EICAR: Uint8Array<ArrayBuffer> = new TextEncoder().encode(
  "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Why clamd tests cannot run here, or null when they can (warned once). */
export const CLAMD_MISSING: string | null = await exists(CLAMD) && await exists(SIGTOOL)
  ? null
  : "clamd/sigtool missing (apt-get install clamav-daemon clamav; .ci/run installs them)";

/** A running clamd. */
export interface TestClamd {
  /** Its Unix socket. */
  socket: string;
  /** Stops it (again is harmless). */
  stop(): Promise<void>;
}

/** Runs clamd in the foreground in `dir` with a database holding EICAR's MD5. */
export async function startClamd(dir: string): Promise<TestClamd> {
  await Deno.writeFile(`${dir}/eicar.com`, EICAR);
  const sig = await new Deno.Command(SIGTOOL, { args: ["--md5", "eicar.com"], cwd: dir }).output();
  assert(sig.success, new TextDecoder().decode(sig.stderr));
  await Deno.writeFile(`${dir}/test.hdb`, sig.stdout);
  await Deno.remove(`${dir}/eicar.com`);
  const socket = `${dir}/clamd.sock`;
  await Deno.writeTextFile(
    `${dir}/clamd.conf`,
    [
      `DatabaseDirectory ${dir}`,
      `LocalSocket ${socket}`,
      `TemporaryDirectory ${dir}`,
      `LogFile ${dir}/clamd.log`,
      "Foreground yes",
      `User ${Deno.uid() === 0 ? "root" : Deno.env.get("USER") ?? "root"}`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(CLAMD, {
    args: ["-c", `${dir}/clamd.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 60_000;
  while (!(await canConnect(socket))) {
    if (Date.now() > deadline) throw new Error("clamd did not start within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  let stopped = false;
  return {
    socket,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      child.kill("SIGTERM");
      await child.stderr.cancel();
      await child.status;
    },
  };
}

async function canConnect(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
