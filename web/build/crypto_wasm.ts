/**
 * The esbuild plugin that ships matrix-sdk-crypto-wasm's WASM with the bundle.
 *
 * @module
 */

import type * as esbuild from "esbuild";
import { contentHash } from "./hash.ts";

/**
 * Locates matrix-sdk-crypto-wasm's browser entry, copies its WASM into the output under a
 * hashed name, and points the entry's default URL (`./pkg/…_bg.wasm` next to the module) at
 * that name. esbuild does not follow `new URL(…, import.meta.url)`, so without this the
 * bundle would ask for a file that does not exist.
 */
export function cryptoWasmPlugin(assetsDir: URL, found: { name?: string }): esbuild.Plugin {
  const DEFAULT_URL = `new URL("./pkg/matrix_sdk_crypto_wasm_bg.wasm", import.meta.url)`;
  return {
    name: "gemeng-crypto-wasm",
    setup(build) {
      build.onLoad({ filter: /matrix-sdk-crypto-wasm[\\/]index\.mjs$/ }, async (args) => {
        const source = await Deno.readTextFile(args.path);
        if (!source.includes(DEFAULT_URL)) {
          throw new Error(`${args.path} no longer loads its WASM as expected; update web/build.ts`);
        }
        const wasmPath = args.path.replace(/index\.mjs$/, "pkg/matrix_sdk_crypto_wasm_bg.wasm");
        const wasm = await Deno.readFile(wasmPath);
        const name = `crypto-${await contentHash(wasm)}.wasm`;
        await Deno.writeFile(new URL(name, assetsDir), wasm);
        found.name = name;
        return {
          contents: source.replace(DEFAULT_URL, `new URL("./${name}", import.meta.url)`),
          loader: "js",
        };
      });
    },
  };
}
