// The one static file server of the demo, the tests and the benchmark: folders mounted under URL
// prefixes, a few generated routes, the same headers on every response (errors included), and
// paths that cannot leave their folder (`..`, encoded or not, and undecodable escapes are refused).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';

export const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css',
  '.tflite': 'application/octet-stream', '.onnx': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg', '.JPEG': 'image/jpeg', '.y4m': 'application/octet-stream',
};

/** Cross-origin isolation: what makes `crossOriginIsolated` (and SharedArrayBuffer) true. */
export const ISOLATED = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** The file `rel` (a decoded URL path below a mount) inside `dir`, or null when it would leave it. */
export function inside(dir, rel) {
  const file = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
  const back = path.relative(dir, file);
  return back.startsWith('..') || path.isAbsolute(back) ? null : file;
}

/**
 * Starts a server on 127.0.0.1:`port` (0: any free port).
 * - `mounts`: `[[prefix, dir], …]`, the longest matching prefix wins; a folder serves its
 *   `index.html`.
 * - `routes`: `{ '/path': () => ({ body, type }) }`, checked first.
 * - `headers`: added to every response, or a function returning them.
 * - `gzip`: compress responses (once per file) for clients that accept it.
 * Resolves to `{ base, port, stop }`.
 */
export async function serveStatic({ port = 0, mounts = [], routes = {}, headers = {}, gzip = false }) {
  const sorted = [...mounts].sort((a, b) => b[0].length - a[0].length);
  const compressed = new Map();
  const server = createServer(async (req, res) => {
    const common = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store', ...(typeof headers === 'function' ? headers() : headers) };
    const fail = (status, text) => res.writeHead(status, { ...common, 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return fail(400, 'bad request');
    }
    try {
      let body;
      let type;
      let key = null;
      if (Object.hasOwn(routes, pathname)) {
        ({ body, type } = await routes[pathname]());
      } else {
        const mount = sorted.find(([prefix]) => pathname.startsWith(prefix));
        let file = mount && inside(mount[1], pathname.slice(mount[0].length));
        if (!file) return fail(404, 'not found');
        if ((await stat(file)).isDirectory()) file = path.join(file, 'index.html');
        body = await readFile(file);
        type = TYPES[path.extname(file)] ?? 'application/octet-stream';
        key = file;
      }
      const out = { ...common, 'Content-Type': type };
      if (gzip && key && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && !/\.(jpe?g|png)$/i.test(key)) {
        if (!compressed.has(key)) compressed.set(key, gzipSync(body, { level: 9 }));
        body = compressed.get(key);
        out['Content-Encoding'] = 'gzip';
      }
      res.writeHead(200, out).end(req.method === 'HEAD' ? undefined : body);
    } catch {
      fail(404, 'not found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = server.address().port;
  return { base: `http://127.0.0.1:${bound}/`, port: bound, stop: () => new Promise((r) => server.close(r)) };
}
