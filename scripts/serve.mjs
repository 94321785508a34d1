// Serves the built demo (www/dist) on http://127.0.0.1:8080 (PORT to change), cross-origin
// isolated, under the strictest policy the page works under: its own scripts and wasm, nothing
// else, never framed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISOLATED, serveStatic } from './lib/static-server.mjs';

export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; frame-ancestors 'none'; base-uri 'none'";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../www/dist');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 8080);
  await serveStatic({ port, mounts: [['/', dist]], headers: { ...ISOLATED, 'Content-Security-Policy': CSP } });
  console.log(`mobilenet-wasm demo: http://127.0.0.1:${port}/`);
}
