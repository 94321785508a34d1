// Assembles build/ for workerd and wrangler: the package (../../pkg), the bundled models as data
// modules with a manifest (name, files, sha256, bytes, golden top-1) that the Worker checks
// before use, and a workerd config. Models: MOBILENET_WORKER_MODELS (comma-separated folder
// names); output folder: MOBILENET_WORKER_OUT (default build/).
import { cp, mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { labelsFile, modelFiles, modelsDir as resolveModelsDir, root } from '../../scripts/lib/models.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = resolveModelsDir();
const names = (process.env.MOBILENET_WORKER_MODELS ?? 'mobilenet_v2_1.0_224_quant,mobilenet_v3_small_1.0_224_uint8,mobilenet_v1_0.25_128_quant').split(',');
const out = path.resolve(process.env.MOBILENET_WORKER_OUT ?? path.join(here, 'build'));
const accuracy = JSON.parse(await readFile(path.join(root, 'www/golden-accuracy.json'), 'utf8')).top1;
const port = Number(process.env.PORT ?? 8787);

await rm(out, { recursive: true, force: true });
await mkdir(path.join(out, 'models'), { recursive: true });
await cp(path.join(here, 'src'), path.join(out, 'src'), { recursive: true });
await mkdir(path.join(out, 'pkg'));
for (const f of ['workerd.js', 'core.js', 'glue.js', 'custom.js', 'validate.js', 'mobilenet_wasm.js', 'mobilenet_wasm_relaxed_bg.wasm']) await copyFile(path.join(root, 'pkg', f), path.join(out, 'pkg', f));
await copyFile(labelsFile(), path.join(out, 'models/labels.txt'));

const modules = [
  '(name="src/worker.js", esModule=embed "src/worker.js")',
  '(name="models/index.js", esModule=embed "models/index.js")',
  '(name="models/labels.txt", text=embed "models/labels.txt")',
  '(name="pkg/workerd.js", esModule=embed "pkg/workerd.js")',
  '(name="pkg/core.js", esModule=embed "pkg/core.js")',
  '(name="pkg/glue.js", esModule=embed "pkg/glue.js")',
  '(name="pkg/custom.js", esModule=embed "pkg/custom.js")',
  '(name="pkg/validate.js", esModule=embed "pkg/validate.js")',
  '(name="pkg/mobilenet_wasm.js", esModule=embed "pkg/mobilenet_wasm.js")',
  '(name="pkg/mobilenet_wasm_relaxed_bg.wasm", wasm=embed "pkg/mobilenet_wasm_relaxed_bg.wasm")',
];
const imports = [];
const entries = [];
for (const [i, name] of names.entries()) {
  const files = modelFiles(name);
  const vars = [];
  const sha256 = [];
  let bytes = 0;
  for (const [j, f] of files.entries()) {
    const data = await readFile(path.join(modelsDir, name, f));
    sha256.push(createHash('sha256').update(data).digest('hex'));
    bytes += data.length;
    await writeFile(path.join(out, 'models', `${name}--${f}`), data);
    modules.push(`(name="models/${name}--${f}", data=embed "models/${name}--${f}")`);
    imports.push(`import m${i}_${j} from './${name}--${f}';`);
    vars.push(`m${i}_${j}`);
  }
  const manifest = { name, files, sha256, bytes, goldenTop1: accuracy[name] ?? null };
  entries.push(`  '${name}': { files: [${vars.join(', ')}], manifest: ${JSON.stringify(manifest)} },`);
}
await writeFile(path.join(out, 'models/index.js'), `${imports.join('\n')}\nexport const DEFAULT_MODEL = '${names[0]}';\nexport const MODELS = {\n${entries.join('\n')}\n};\n`);
await writeFile(path.join(out, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')},
  ],
  compatibilityDate = "2026-04-01",
  bindings = [(name = "MAX_BODY_BYTES", text = "${process.env.MAX_BODY_BYTES ?? 10 * 1024 * 1024}")],
);
`);
console.log(`worker assembled in ${path.relative(root, out)} with ${names.join(', ')} (port ${port})`);
