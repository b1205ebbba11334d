// Builds the package: tsc emits the one implementation (CommonJS with declarations) into dist/cjs,
// then every entry of package.json `exports` gets a thin ESM wrapper in dist/esm that imports that
// same CommonJS module, so `import` and `require` share one set of classes (no dual-package hazard).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(path.join(root, 'dist'), { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error(`build: tsc failed (exit ${tsc.status ?? tsc.signal})`);
  process.exit(1);
}

const built = [];
const missing = [];
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  if (!target.import?.default?.endsWith('.mjs') || !target.import?.types?.endsWith('.d.mts') || !target.require?.default?.startsWith('./dist/cjs/')) {
    console.error(`build: exports["${subpath}"] must map import to dist/esm/*.mjs and *.d.mts, and require to dist/cjs/`);
    process.exit(1);
  }
  const cjsFile = path.join(root, target.require.default);
  if (!existsSync(cjsFile)) {
    missing.push(`${subpath} (no ${target.require.default}: its source was not compiled)`);
    continue;
  }
  const esmFile = path.join(root, target.import.default);
  const esmTypesFile = path.join(root, target.import.types);
  const fromEsm = (file) => relativeSpecifier(path.dirname(esmFile), file);

  const names = Object.keys(require(cjsFile)).filter((name) => name !== '__esModule');
  const lines = [`import cjs from '${fromEsm(cjsFile)}';`];
  for (const name of names) {
    lines.push(name === 'default' ? 'export default cjs.default;' : `export const ${name} = cjs.${name};`);
  }
  mkdirSync(path.dirname(esmFile), { recursive: true });
  writeFileSync(esmFile, `${lines.join('\n')}\n`);

  const cjsTypes = path.join(root, target.require.types);
  const typeLines = [`export * from '${fromEsm(cjsTypes).replace(/\.d\.ts$/, '.js')}';`];
  if (names.includes('default')) typeLines.push(`export { default } from '${fromEsm(cjsTypes).replace(/\.d\.ts$/, '.js')}';`);
  writeFileSync(esmTypesFile, `${typeLines.join('\n')}\n`);
  built.push(`${subpath} (${names.length} exports)`);
}

console.error(`build: ${built.length} entries: ${built.join(', ')}`);
if (missing.length > 0) console.warn(`build: NOT BUILT: ${missing.join('; ')}`);

function relativeSpecifier(fromDir, file) {
  const relative = path.relative(fromDir, file).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}
