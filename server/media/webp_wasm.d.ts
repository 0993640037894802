/** libwebp's decoder (`@cwasm/webp`) as a compiled WebAssembly module. */
declare const webpModule: WebAssembly.Module;
export default webpModule;
