import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const repo = path.resolve(__dirname, '../..');

/** The TypeScript examples of README.md, in order, each as a module of its own. */
function readmeExamples(): string[] {
  const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8');
  return [...readme.matchAll(/^( *)```ts\n([\s\S]*?)^\1```/gm)].map(([, indent, body]) =>
    body!
      .split('\n')
      .map((line) => line.slice(indent!.length))
      .join('\n'),
  );
}

/** tsc's complaints about `examples`, type-checked under `strict` as ES modules, `redis` resolving to `redisPackage`. */
function typeErrors(examples: string[], redisPackage: string): string[] {
  const files = new Map(examples.map((text, index) => [path.join(__dirname, `README.example${index}.mts`), `${text}\nexport {};\n`]));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    esModuleInterop: true,
    types: ['node'],
    paths: { 'session-stores/redis': [path.join(__dirname, 'index.ts')], redis: [path.join(repo, 'node_modules', redisPackage)] },
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, ...rest) =>
    files.has(file) ? ts.createSourceFile(file, files.get(file)!, language) : getSourceFile.call(host, file, language, ...rest);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => `${path.basename(diagnostic.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
}

describe('the TypeScript examples of README.md', () => {
  it('are there to check', () => {
    expect(readmeExamples().length).toBeGreaterThan(5);
  });

  it.each([
    ['node-redis v5', 'redis'],
    ['node-redis v6', 'redis6'],
  ])('type-check under strict, with ioredis and %s', (_label, redisPackage) => {
    expect(typeErrors(readmeExamples(), redisPackage)).toEqual([]);
  }, 60_000);
});
