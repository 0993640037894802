// @ts-self-types="./webp_wasm.d.ts"
/**
 * libwebp's decoder compiled to WebAssembly (npm `@cwasm/webp`), imported as a compiled module
 * through the source phase import, so the bytes are part of the module graph: `deno compile`
 * embeds them and nothing reads node_modules at run time. TypeScript cannot parse
 * `import source` yet, hence this small JavaScript file.
 */
import source webpModule from "@cwasm/webp/webp.wasm";

export default webpModule;
