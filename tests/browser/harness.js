// Shared by the browser tests: the demo server (scripts/serve.mjs), a server for the package
// alone, and Debian's Chromium.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Resolved: the package server compares normalised request paths against it, and the test script
// passes `$(pwd)/../shared/models`, whose `..` would otherwise make every model path look outside.
export const modelsDir = path.resolve(process.env.MOBILENET_MODELS_DIR ?? path.join(root, '../shared/models'));
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

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.tflite': 'application/octet-stream', '.txt': 'text/plain', '.JPEG': 'image/jpeg' };

/**
 * Serves the built package (`/pkg/…`), the models directory (`/models/…`) and the golden images
 * (`/golden/…`) on an ephemeral port, cross-origin isolated, with an empty page at `/`.
 * Resolves to `{ base, stop }`.
 */
export async function startPackageServer() {
  const mounts = [['/pkg/', path.join(root, 'pkg')], ['/models/', modelsDir], ['/golden/', golden]];
  const server = createServer(async (req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (url === '/') return res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>package</title>');
    const [prefix, dir] = mounts.find(([p]) => url.startsWith(p)) ?? [];
    const file = dir && path.join(dir, path.normalize(url.slice(prefix.length)));
    try {
      if (!file || !file.startsWith(dir)) throw new Error('outside');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${server.address().port}/`, stop: () => server.close() };
}
