import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Installs the report's own packages (the third-party stores only the report runs) on first use:
 * they stay out of the root install, so a clone of the repository compiles none of them.
 */
export function ensureReportInstall(): void {
  if (existsSync(path.join(__dirname, 'node_modules', '.package-lock.json'))) return;
  process.stdout.write('installing the report\'s packages: npm ci --prefix report\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const installed = spawnSync(npm, ['ci', '--prefix', __dirname, '--no-audit', '--no-fund'], { cwd: __dirname, stdio: 'inherit' });
  if (installed.status !== 0) throw new Error(`npm ci --prefix report failed (exit ${installed.status ?? installed.signal})`);
}
