import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The start of a child script: loads the factory module at CONFORMANCE_FACTORY_MODULE as the CLI
 * does (require, then import() for an ES module require cannot load, top-level await included) and
 * defines `factory`, `teardown`, `dispose` (the module's disposeStore, else close() when the store
 * has one), `call` and `cookie`.
 */
const PRELUDE = `
const call = (store, method, ...args) => new Promise((resolve, reject) => {
  const returned = store[method](...args, (error, result) => (error ? reject(error) : resolve(result)));
  if (returned && typeof returned.then === 'function') returned.then(resolve, reject);
  else if (method === 'close' && store.close.length === 0) resolve();
});
const cookie = () => {
  const expires = new Date(Date.now() + 60000);
  if (!process.env.CONFORMANCE_COOKIE_MODULE) return { originalMaxAge: 60000, expires, httpOnly: true, path: '/' };
  const Cookie = require(process.env.CONFORMANCE_COOKIE_MODULE);
  const made = new Cookie({ httpOnly: true, path: '/' });
  made.expires = expires;
  return made;
};
const loadModule = async (file) => {
  const url = require('node:url').pathToFileURL(file).href;
  if (file.endsWith('.mjs')) return import(url);
  try {
    return require(file);
  } catch (error) {
    if (error && (error.code === 'ERR_REQUIRE_ESM' || error.code === 'ERR_REQUIRE_ASYNC_MODULE')) return import(url);
    throw error;
  }
};
const loadFactory = async () => {
  const loaded = await loadModule(process.env.CONFORMANCE_FACTORY_MODULE);
  const inner = loaded && typeof loaded.default === 'object' && loaded.default !== null ? loaded.default : {};
  const mod = { ...inner, ...loaded };
  const pick = (m) => m && (m.createStore || m.makeStore || (typeof m.default === 'function' ? m.default : undefined));
  const factory = typeof loaded === 'function' ? loaded : pick(mod) || pick(inner);
  if (typeof factory !== 'function') throw new Error('the module exports no createStore, makeStore or default function');
  const dispose = async (store) => {
    if (typeof mod.disposeStore === 'function') await mod.disposeStore(store);
    else if (typeof store.close === 'function') await call(store, 'close');
  };
  return { factory, dispose, teardown: typeof mod.teardown === 'function' ? mod.teardown : undefined };
};
`;

/** Where express-session's Cookie is, for the child; empty when it cannot be found. */
function cookieModule(): string {
  try {
    return require.resolve('express-session/session/cookie');
  } catch {
    return '';
  }
}

function childArguments(modulePath: string): string[] {
  if (!/\.[cm]?tsx?$/.test(modulePath)) return [];
  try {
    return ['--import', pathToFileURL(require.resolve('tsx')).href];
  } catch {
    throw new Error(`loading ${modulePath} needs tsx, which is not installed`);
  }
}

/** Starts `node -e` on PRELUDE + `body` with the factory module at `factoryModule` and a namespace of its own. */
export function spawnFactoryChild(factoryModule: string, namespace: string, body: string) {
  const modulePath = path.resolve(factoryModule);
  return spawn(process.execPath, [...childArguments(modulePath), '-e', `${PRELUDE}\n${body}`], {
    env: {
      ...process.env,
      CONFORMANCE_FACTORY_MODULE: modulePath,
      CONFORMANCE_NAMESPACE: namespace,
      CONFORMANCE_COOKIE_MODULE: cookieModule(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
