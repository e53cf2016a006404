// src/generated/schema.ts is what openapi-typescript makes of the committed snapshot
// openapi.json (itself checked against the server by tests/test_sdk_openapi_snapshot.py).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('src/generated/schema.ts is regenerated from openapi.json unchanged', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const args = pkg.scripts.generate.split(' ').slice(1);
  const out = mkdtempSync(join(tmpdir(), 'lehnz-sdk-gen-'));
  try {
    const target = join(out, 'schema.ts');
    args[args.indexOf('--output') + 1] = target;
    const cli = join(dirname(createRequire(import.meta.url).resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
    execFileSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'pipe' });
    assert.ok(
      readFileSync(target, 'utf8') === readFileSync(join(root, 'src', 'generated', 'schema.ts'), 'utf8'),
      'src/generated/schema.ts is stale: run `npm run generate`',
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
