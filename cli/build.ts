// npm run build [-- --outdir DIR]: bundles every service entry point
// (src/runtime/entries/*.ts) into a self-contained dist/<name>.mjs.
import { build } from 'esbuild';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } });
const entriesDir = 'src/runtime/entries';
const entries = (await readdir(entriesDir)).filter((file) => file.endsWith('.ts')).sort();
const entryPoints = Object.fromEntries(entries.map((file) => [basename(file, '.ts'), join(entriesDir, file)]));

await build({
  entryPoints,
  outdir: values.outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'linked',
  // Bundled CommonJS dependencies (node-forge) call require() for Node built-ins.
  banner: { js: "import { createRequire as __pf9labCreateRequire } from 'node:module'; const require = __pf9labCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

for (const name of Object.keys(entryPoints)) {
  const file = join(values.outdir, `${name}.mjs`);
  process.stdout.write(`${file}  ${(await stat(file)).size} bytes\n`);
}
