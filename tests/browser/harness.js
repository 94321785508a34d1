// Shared by the browser tests: the demo server (scripts/serve.mjs), a server for the package
// alone, and Debian's Chromium.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { byomDir, goldenDir, modelsDir as models, root } from '../../scripts/lib/models.mjs';
import { ISOLATED, serveStatic } from '../../scripts/lib/static-server.mjs';

export { root };
export const modelsDir = models();
export const golden = goldenDir();

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Headless Debian Chromium with the flags this machine needs, plus `extra`. */
export function launchChromium(extra = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...FLAGS, ...extra] });
}

/** The same Chromium with a profile kept in `dir` (IndexedDB survives a relaunch). */
export function launchPersistent(dir, extra = []) {
  return chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args: [...FLAGS, ...extra], viewport: { width: 1280, height: 1000 } });
}

/** Starts scripts/serve.mjs on `port`; resolves to `{ base, stop }` once it answers. */
export async function startDemoServer(port) {
  const base = `http://127.0.0.1:${port}/`;
  const server = spawn(process.execPath, [path.join(root, 'scripts/serve.mjs')], { env: { ...process.env, PORT: String(port) }, stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      if ((await fetch(base)).ok) return { base, stop: () => server.kill() };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  server.kill();
  throw new Error('demo server did not start');
}

/**
 * Serves the built package (`/pkg/…`), the models directory (`/models/…`), the user-style files
 * (`/byom/…`) and the golden images (`/golden/…`) on an ephemeral port, cross-origin isolated,
 * with an empty page at `/`.
 * Resolves to `{ base, stop }`.
 */
export function startPackageServer() {
  const page = '<!doctype html><meta charset="utf-8"><title>package</title>';
  return serveStatic({
    mounts: [['/pkg/', path.join(root, 'pkg')], ['/models/', modelsDir], ['/byom/', byomDir()], ['/golden/', golden]],
    routes: { '/': () => ({ body: page, type: 'text/html' }) },
    headers: ISOLATED,
  });
}
