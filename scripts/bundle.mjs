/**
 * Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into one ES module,
 * dist/src/cli/swarmsup.mjs: the package's bin and what `swarmsup swarm` forks for its nodes.
 *
 * Why: a process that loads ~270 module files spends most of its start-up resolving,
 * reading and compiling them. Measured on this project's 2-core VM (`/usr/bin/time node
 * <cli> --help`, 5 runs each): 0.20 CPU-s unbundled, 0.11 bundled (bare `node -e 0`: 0.05).
 * A 16-node fan-out starts 17 such processes.
 *
 * piscina stays outside the bundle: it resolves its own worker script from its package
 * directory. The hash pool's worker (dist/src/storage/hashWorker.js) stays a tsc output
 * file beside the bundle's directory (hashPool.ts: `hashWorkerFile`), so the package ships
 * dist/src whole (package.json "files"). pino is inlined and works as src/log.ts uses it (a
 * destination on fd 2); its transports (worker threads found through __dirname) would not:
 * make pino external before configuring one.
 *
 * SWARMSUP_BUNDLED is defined true here, so code can tell the bundle from tsc's output
 * (src/cli/swarm.ts forks the bundle for its nodes when it runs from it).
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ["dist/src/cli/main.js"],
  outfile: "dist/src/cli/swarmsup.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["piscina"],
  sourcemap: "linked",
  logLevel: "warning",
  define: { SWARMSUP_BUNDLED: "true" },
  // CommonJS dependencies (pino, commander, ...) call require(); an ES module has none.
  banner: { js: 'import { createRequire as swarmsupCreateRequire } from "node:module"; const require = swarmsupCreateRequire(import.meta.url);' },
});
