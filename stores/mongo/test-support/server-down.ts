import { MongoClient } from 'mongodb';
import { MongoStore } from '..';

/**
 * Run as its own process (`node -r esbuild-register server-down.ts <url>`) with Node's default
 * `--unhandled-rejections=throw`, so any unhandled rejection crashes it. Uses a store on a
 * caller's client (default driver settings) and one on `url`, both against a server that is
 * down, closes everything and prints what it saw as JSON. The process must then exit by itself.
 */
async function main(url: string): Promise<void> {
  const client = new MongoClient(url);
  const onClient = new MongoStore({ client });
  const started = Date.now();
  const getError = await new Promise<unknown>((resolve) => onClient.get('sid-down', (error) => resolve(error)));
  const getMs = Date.now() - started;
  await onClient.close();
  await client.close();

  const onUrl = new MongoStore({ url, operationTimeout: 500 });
  const setError = await onUrl.set('sid-down', { cookie: { originalMaxAge: null } } as never).then(
    () => undefined,
    (error: unknown) => error,
  );
  await onUrl.close();

  process.stdout.write(JSON.stringify({ getCode: codeOf(getError), getMs, setCode: codeOf(setError) }));
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

if (require.main === module) {
  main(process.argv[2]!).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  });
}
