// npm run build [-- --outdir DIR]: bundles every service entry point
// (src/runtime/entries/*.ts) into a self-contained dist/<name>.mjs, and puts
// the raw-socket addon beside them as dist/raw-socket.node: a native addon
// cannot be bundled, and the real platform looks for it next to the bundle
// (src/runtime/platform/real/raw-socket-addon.ts), so dist/ runs on a host
// without node_modules.
import { build } from 'esbuild';
import { copyFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { RAW_SOCKET_ADDON_FILE } from '../src/runtime/platform/real/raw-socket-addon.js';

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

await copyRawSocketAddon(values.outdir);

for (const file of [...Object.keys(entryPoints).map((name) => `${name}.mjs`), RAW_SOCKET_ADDON_FILE]) {
  const path = join(values.outdir, file);
  process.stdout.write(`${path}  ${(await stat(path)).size} bytes\n`);
}

/** Copies the addon built by `npm ci` (node-gyp), with its MIT notice (the package keeps it in its README). */
async function copyRawSocketAddon(outdir: string): Promise<void> {
  const requireFromHere = createRequire(import.meta.url);
  let addon: string;
  try {
    addon = requireFromHere.resolve('raw-socket/build/Release/raw.node');
  } catch {
    throw new Error('raw-socket/build/Release/raw.node is missing: npm ci builds it (node-gyp needs python3, make and g++)');
  }
  await copyFile(addon, join(outdir, RAW_SOCKET_ADDON_FILE));
  const readme = await readFile(join(dirname(addon), '..', '..', 'README.md'), 'utf8');
  const licenseAt = readme.indexOf('# License');
  const license = licenseAt < 0 ? readme : readme.slice(licenseAt);
  await writeFile(join(outdir, `${RAW_SOCKET_ADDON_FILE}.LEGAL.txt`), `raw-socket (nospaceships/node-raw-socket), native addon\n\n${license}`);
}
