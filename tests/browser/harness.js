// Shared by the browser tests: the demo server (scripts/serve.mjs) and Debian's Chromium.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const modelsDir = process.env.MOBILENET_MODELS_DIR ?? path.join(root, '../shared/models');
export const golden = path.join(modelsDir, '../golden/imagenet-samples');

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Headless Debian Chromium with the flags this machine needs, plus `extra`. */
export function launchChromium(extra = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...FLAGS, ...extra] });
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
