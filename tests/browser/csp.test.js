// The npm package alone under the strictest policy a page can have and still run wasm (the
// demo's: its own scripts and wasm, nothing else), in Chromium. A control run without
// 'wasm-unsafe-eval' must be blocked, which shows the policy is really enforced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root, golden, launchChromium } from './harness.js';
import { CSP as STRICT } from '../../scripts/serve.mjs';
import { serveStatic } from '../../scripts/lib/static-server.mjs';
const page = `<!doctype html><meta charset="utf-8"><title>csp</title><script type="module" src="/main.js"></script>`;
const main = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
  try {
    const { Classifier } = await import('/pkg/browser.js');
    const clf = await Classifier.load();
    const bytes = new Uint8Array(await (await fetch('/tench.jpg')).arrayBuffer());
    const fromBytes = await clf.classify(bytes);
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
    const fromBitmap = await clf.classify(bitmap);
    window.__result = { bytes: fromBytes[0].label, bitmap: fromBitmap[0].label };
  } catch (e) {
    window.__result = { error: (e.code ?? '') + ' ' + e.message };
  }
`;
let server;
let base;
let policy = STRICT;

before(async () => {
  server = await serveStatic({
    mounts: [['/pkg/', path.join(root, 'pkg')]],
    routes: {
      '/': () => ({ body: page, type: 'text/html' }),
      '/main.js': () => ({ body: main, type: 'text/javascript' }),
      '/tench.jpg': () => ({ body: readFileSync(path.join(golden, 'n01440764_tench.JPEG')), type: 'image/jpeg' }),
    },
    headers: () => ({ 'Content-Security-Policy': policy }),
  });
  base = server.base;
});
after(() => server?.stop());

async function run() {
  const browser = await launchChromium();
  try {
    const p = await browser.newPage();
    const response = await p.goto(base);
    await p.waitForFunction(() => window.__result, null, { timeout: 60000 });
    return { csp: response.headers()['content-security-policy'], ...(await p.evaluate(() => ({ result: window.__result, violations: window.__violations }))) };
  } finally {
    await browser.close();
  }
}

test('the package classifies under the strict CSP with no violation', async () => {
  policy = STRICT;
  const { csp, result, violations } = await run();
  assert.equal(csp, STRICT);
  assert.deepEqual(result, { bytes: 'tench, Tinca tinca', bitmap: 'tench, Tinca tinca' });
  assert.deepEqual(violations, []);
});

test('control: without wasm-unsafe-eval the same page is blocked', async () => {
  policy = "default-src 'self'; script-src 'self'";
  const { result, violations } = await run();
  assert.ok(result.error, `expected a failure, got ${JSON.stringify(result)}`);
  assert.ok(violations.some((v) => v.startsWith('script-src')), JSON.stringify(violations));
});
