// The demo's Teach mode in headless Chromium with two fake-webcam clips (a dog photo, a vehicle
// photo): one class taught per clip across relaunches of the same profile (IndexedDB keeps the
// examples), trained with its progress shown, then each clip recognised as its class, with no
// request made while teaching and classifying. Needs www/dist built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, launchPersistent, startDemoServer } from './harness.js';
import { coarsePhotos } from '../../scripts/lib/coarse.mjs';

const results = path.join(root, 'test-results');
const { dog, vehicle } = coarsePhotos(['dog', 'vehicle']);
const clips = { dog: path.join(results, 'teach-dog.y4m'), vehicle: path.join(results, 'teach-vehicle.y4m') };
let server;
let profile;

before(async () => {
  mkdirSync(results, { recursive: true });
  // Each clip: three photos of its class, 10 frames each, looped by Chromium as the webcam.
  for (const [name, photos] of [['dog', dog], ['vehicle', vehicle]]) {
    const inputs = [photos[0], photos[Math.floor(photos.length / 2)], photos.at(-1)];
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y',
      ...inputs.flatMap((p) => ['-loop', '1', '-t', '1', '-framerate', '10', '-i', p]),
      '-filter_complex', `${inputs.map((_, i) => `[${i}:v]scale=320:240,setsar=1[v${i}]`).join(';')};${inputs.map((_, i) => `[v${i}]`).join('')}concat=n=${inputs.length}:v=1:a=0`,
      '-pix_fmt', 'yuv420p', clips[name]]);
  }
  server = await startDemoServer(18500 + (process.pid % 400));
  profile = mkdtempSync(path.join(os.tmpdir(), 'teach-profile-'));
});
after(() => {
  server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function open(clip) {
  const context = await launchPersistent(profile, ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`]);
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = context.pages()[0] ?? await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(server.base);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=frames-classified]').textContent) > 2, null, { timeout: 30000 });
  return { context, page, requests, problems };
}

const count = async (page, label) => Number((await page.textContent(`[data-testid="count-${label}"]`)) ?? 0);

async function capture(page, label, ms) {
  const before = await page.locator(`[data-testid="count-${label}"]`).count() ? await count(page, label) : 0;
  if (before === 0 && !(await page.locator(`[data-testid="hold-${label}"]`).count())) {
    await page.fill('[data-testid=class-name]', label);
    await page.click('[data-testid=add-class]');
  }
  // Pointer events on the button itself (a mouse press at coordinates could land elsewhere
  // while the class list re-renders).
  const hold = page.locator(`[data-testid="hold-${label}"]`);
  await hold.dispatchEvent('pointerdown');
  await page.waitForTimeout(ms);
  await hold.dispatchEvent('pointerup');
  await page.waitForFunction(([l, n]) => Number(document.querySelector(`[data-testid="count-${l}"]`)?.textContent) > n, [label, before + 2], { timeout: 20000 })
    .catch(async (e) => {
      throw new Error(`${e.message}; classes: ${await page.textContent('[data-testid=classes]')}; message: ${await page.textContent('[data-testid=teach-message]')}`);
    });
  await page.waitForTimeout(500); // the last frame in flight
  return count(page, label);
}

async function customTop1(page) {
  if (!(await page.isChecked('[data-testid=use-custom]'))) await page.check('[data-testid=use-custom]');
  const n = Number(await page.textContent('[data-testid=frames-classified]'));
  await page.waitForFunction((m) => Number(document.querySelector('[data-testid=frames-classified]').textContent) > m + 3, n, { timeout: 20000 });
  return page.textContent('[data-testid=top1-label]');
}

test('Teach mode: two classes from two webcam clips, kept across reloads, trained, then recognised', async () => {
  // Clip 1: the dog class.
  let s = await open(clips.dog);
  const dogs = await capture(s.page, 'dog', 1500);
  console.log(`captured ${dogs} dog frames`);
  assert.equal(await s.page.isDisabled('[data-testid=train]'), true, 'one class cannot be trained');
  assert.deepEqual(s.problems, []);
  await s.context.close();

  // Clip 2: the vehicle class; the dogs came back from IndexedDB.
  s = await open(clips.vehicle);
  await s.page.waitForSelector('[data-testid="count-dog"]');
  assert.equal(await count(s.page, 'dog'), dogs, 'the examples survived the relaunch');
  const atLoad = s.requests.length;
  const vehicles = await capture(s.page, 'vehicle', 1500);
  console.log(`captured ${vehicles} vehicle frames`);
  assert.equal(await customTop1(s.page), 'vehicle', 'kNN before training');
  await s.page.click('[data-testid=train]');
  await s.page.waitForFunction(() => /^trained/.test(document.querySelector('[data-testid=train-status]').textContent), null, { timeout: 60000 });
  const status = await s.page.textContent('[data-testid=train-status]');
  console.log(`Teach: ${status}`);
  assert.equal(await s.page.getAttribute('[data-testid=train-progress]', 'value'), '1');
  assert.equal(await customTop1(s.page), 'vehicle', 'the trained head');
  const download = s.page.waitForEvent('download');
  await s.page.click('[data-testid=download-tflite]');
  const tflite = await (await download).path();
  assert.ok(tflite, 'the .tflite downloads');
  assert.deepEqual(s.requests.slice(atLoad).filter((u) => !u.startsWith('blob:')), [], 'nothing fetched or sent while teaching, training and classifying');
  assert.equal(Number(await s.page.textContent('[data-testid=requests-after-load]')), 0);
  await s.page.screenshot({ path: path.join(results, 'teach.png') });
  assert.deepEqual(s.problems, []);
  await s.context.close();

  // Clip 1 again: the trained classes came back; the dog clip is the dog class.
  s = await open(clips.dog);
  await s.page.waitForFunction(() => /^trained|not trained/.test(document.querySelector('[data-testid=train-status]').textContent));
  assert.equal(await s.page.textContent('[data-testid=train-status]'), 'trained');
  assert.equal(await customTop1(s.page), 'dog');
  assert.deepEqual(s.problems, []);
  await s.context.close();
});
