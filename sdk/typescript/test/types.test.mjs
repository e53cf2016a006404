// Type tests: test/types/ok.ts compiles; in test/types/fail.ts, tsc refuses exactly the lines
// marked `// error`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const dir = join(root, 'test', 'types');

// tsc takes -p or files, not both: pass the options of tsconfig.json on the command line.
const options = Object.entries(JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).compilerOptions).flatMap(
  ([name, value]) => (Array.isArray(value) && value.length === 0 ? [] : [`--${name}`, Array.isArray(value) ? value.join(',') : String(value)]),
);

async function check(file) {
  try {
    await promisify(execFile)(process.execPath, [tsc, ...options, join(dir, file)], { cwd: root });
    return { ok: true, output: '' };
  } catch (error) {
    return { ok: false, output: `${error.stdout}${error.stderr}` };
  }
}

test('type tests', async (t) => {
  const [ok, fail] = await Promise.all([check('ok.ts'), check('fail.ts')]);
  await t.test('ok.ts compiles', () => assert.ok(ok.ok, ok.output));
  await t.test('fail.ts: tsc refuses exactly the lines marked // error', () => {
    assert.equal(fail.ok, false, 'fail.ts compiled');
    const lines = readFileSync(join(dir, 'fail.ts'), 'utf8').split('\n');
    const expected = lines.flatMap((line, i) => (/\/\/ error:/.test(line) ? [i + 1] : []));
    const got = [...new Set([...fail.output.matchAll(/fail\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])))];
    assert.deepEqual(got.sort((a, b) => a - b), expected, fail.output);
  });
});
