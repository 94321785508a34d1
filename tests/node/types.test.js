// The package's types as a consumer sees them: tests/types/browser.ts (DOM inputs, video
// streams) and tests/types/node.ts (bytes and pixels only) type-check under `tsc --strict`
// against the built package resolved through its `exports` conditions, and every wrong call
// marked `@ts-expect-error` in them fails to (else tsc reports the unused directive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from '../../scripts/lib/models.mjs';

const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

function check(file, compilerOptions) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'types-'));
  try {
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(path.join(root, 'pkg'), path.join(dir, 'node_modules/mobilenet-wasm'), 'dir');
    cpSync(path.join(root, 'tests/types', file), path.join(dir, file));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2022', skipLibCheck: false, ...compilerOptions },
      files: [file],
    }));
    return execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  } catch (e) {
    return `FAILED\n${e.stdout}${e.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a browser consumer type-checks under --strict; wrong calls do not', () => {
  const out = check('browser.ts', { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom', 'esnext.disposable'] });
  assert.equal(out, '', out);
});

test('a Node consumer gets the Node entry\'s types: no DOM inputs, no classifyStream', () => {
  // No DOM library: what a Node project compiles with.
  const out = check('node.ts', { module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'esnext.disposable'], types: ['node'], typeRoots: [path.join(root, 'node_modules/@types')] });
  assert.equal(out, '', out);
});
