/** What the test run needs to start servers of its own: binaries on PATH, and the handle of a started server. */
import fs from 'node:fs';
import path from 'node:path';

export interface StartedServer {
  url: string;
  /** Stops the server and removes its files. Idempotent. */
  stop(): Promise<void>;
}

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && isExecutable(path.join(dir, binary)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
