// `npm run exports`: writes package.json's exports and typesVersions from the registry
// (scripts/registry.ts), leaving every other field as it is; test/registry.test.ts fails while they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageExports } from './registry';

const file = path.join(__dirname, '..', 'package.json');
const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
Object.assign(pkg, packageExports());
writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
