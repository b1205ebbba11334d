// Builds the package: tsc emits the one implementation (CommonJS with declarations) into dist/cjs,
// then every entry point of the registry (scripts/registry.ts) gets a thin ESM wrapper in dist/esm
// that imports that same CommonJS module, so `import` and `require` share one set of classes (no
// dual-package hazard). An ESM-only entry imports a package that exists only as ESM (vitest): its
// dist/esm module is its own source compiled to ESM, with its relative imports pointed at the same
// CommonJS modules. Run by tsx (`npm run build`), which loads the registry's TypeScript.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENTRY_POINTS, exportTarget } from './registry.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

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
for (const entry of ENTRY_POINTS) {
  const { subpath, esmOnly } = entry;
  const target = exportTarget(entry);
  const cjsFile = path.join(root, target.require.default);
  if (!existsSync(cjsFile)) {
    missing.push(`${subpath} (no ${target.require.default}: its source was not compiled)`);
    continue;
  }
  const esmFile = path.join(root, target.import.default);
  const esmTypesFile = path.join(root, target.import.types);
  const fromEsm = (file) => relativeSpecifier(path.dirname(esmFile), file);

  mkdirSync(path.dirname(esmFile), { recursive: true });
  let names;
  if (esmOnly) {
    const compiled = compileToEsm(cjsFile, esmFile);
    if (compiled.error) {
      console.error(`build: exports["${subpath}"]: ${compiled.error}`);
      process.exit(1);
    }
    names = compiled.names;
    writeFileSync(esmFile, compiled.text);
  } else {
    names = Object.keys(require(cjsFile)).filter((name) => name !== '__esModule');
    const lines = [`import cjs from '${fromEsm(cjsFile)}';`];
    for (const name of names) {
      lines.push(name === 'default' ? 'export default cjs.default;' : `export const ${name} = cjs.${name};`);
    }
    writeFileSync(esmFile, `${lines.join('\n')}\n`);
  }

  const cjsTypes = path.join(root, target.require.types);
  const typeLines = [`export * from '${fromEsm(cjsTypes).replace(/\.d\.ts$/, '.js')}';`];
  if (names.includes('default')) typeLines.push(`export { default } from '${fromEsm(cjsTypes).replace(/\.d\.ts$/, '.js')}';`);
  writeFileSync(esmTypesFile, `${typeLines.join('\n')}\n`);
  built.push(`${subpath} (${names.length} exports${esmOnly ? ', ESM only' : ''})`);
}

console.error(`build: ${built.length} entries: ${built.join(', ')}`);
if (missing.length > 0) console.warn(`build: NOT BUILT: ${missing.join('; ')}`);

/**
 * Compiles the TypeScript source of the CommonJS module `cjsFile` to ESM for `esmFile`. Each
 * relative import is pointed at the CommonJS module tsc emitted for it, and may name only what that
 * module exports; any other relative import is an error.
 */
function compileToEsm(cjsFile, esmFile) {
  const ts = require('typescript');
  const source = path.join(root, path.relative(path.join(root, 'dist/cjs'), cjsFile)).replace(/\.js$/, '.ts');
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    fileName: source,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const problems = [];
  const text = outputText.replace(/^(import|export) \{([^}]*)\} from '(\.[^']*)';$/gm, (line, keyword, list, specifier) => {
    const target = path.resolve(path.dirname(cjsFile), `${specifier}.js`);
    if (!existsSync(target)) {
      problems.push(`'${specifier}' has no compiled module ${path.relative(root, target)}`);
      return line;
    }
    const available = Object.keys(require(target));
    const absent = list.split(',').map((name) => name.trim().split(/\s+as\s+/)[0]).filter((name) => name && !available.includes(name));
    if (absent.length > 0) problems.push(`${absent.join(', ')} not exported by ${path.relative(root, target)}`);
    return `${keyword} {${list}} from '${relativeSpecifier(path.dirname(esmFile), target)}';`;
  });
  const leftOver = [...text.matchAll(/from '(\.[^']*)';$/gm)].filter((match) => !existsSync(path.resolve(path.dirname(esmFile), match[1])));
  for (const match of leftOver) problems.push(`'${match[1]}' cannot be pointed at the CommonJS build`);
  if (problems.length > 0) return { error: `${path.relative(root, source)}: ${problems.join('; ')}` };
  const names = [...text.matchAll(/^export (?:async )?(?:function|const|class|let) ([A-Za-z_$][\w$]*)/gm)].map((match) => match[1]);
  return { text, names };
}

function relativeSpecifier(fromDir, file) {
  const relative = path.relative(fromDir, file).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}
