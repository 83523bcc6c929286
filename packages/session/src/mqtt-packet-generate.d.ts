// mqtt-packet's encoder on its own. The package's main module also loads its stream parser (bl,
// readable-stream, about 2.5 MB of RSS at start), which nothing here uses: the pool decodes.
declare module 'mqtt-packet/generate.js' {
  const generate: typeof import('mqtt-packet').generate;
  export default generate;
}
