// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with its .d.ts files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', join(root, project)], { cwd: root, stdio: 'inherit' });
}
// Each half says what it is, whatever the nearest package.json says.
mkdirSync(join(root, 'dist', 'esm'), { recursive: true });
writeFileSync(join(root, 'dist', 'esm', 'package.json'), '{"type": "module"}\n');
writeFileSync(join(root, 'dist', 'cjs', 'package.json'), '{"type": "commonjs"}\n');
