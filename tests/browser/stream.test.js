// clf.classifyStream on a fake webcam in headless Chromium: results keep coming with increasing
// frame timestamps, one frame in flight (frames arriving meanwhile are dropped), and stop when
// the signal fires; bad options are refused with a code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { root, golden, launchChromium, startPackageServer } from './harness.js';

const results = path.join(root, 'test-results');
const clip = path.join(results, 'stream-tench.y4m');
let server;
before(async () => {
  mkdirSync(results, { recursive: true });
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-loop', '1', '-t', '2', '-framerate', '30', '-i', path.join(golden, 'n01440764_tench.JPEG'),
    '-vf', 'scale=320:240', '-pix_fmt', 'yuv420p', clip]);
  server = await startPackageServer();
});
after(() => server?.stop());

test('classifyStream: one frame in flight, timestamps increase, the signal stops it', async () => {
  const browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`]);
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.base);
    const out = await page.evaluate(async () => {
      const { Classifier } = await import('/pkg/browser.js');
      const clf = await Classifier.load();
      const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true });
      document.body.append(video);
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
      await video.play();
      const refusals = [];
      for (const bad of [[{}, { onResult() {} }], [video, {}], [video, { onResult() {}, topK: -1 }], [video, { onResult() {}, nope: 1 }]]) {
        try { clf.classifyStream(...bad); refusals.push('accepted'); } catch (e) { refusals.push(e.code); }
      }
      const seen = [];
      let inFlight = 0;
      let most = 0;
      const ctl = new AbortController();
      let frames = 0;
      const countFrames = () => { frames += 1; video.requestVideoFrameCallback(countFrames); };
      video.requestVideoFrameCallback(countFrames);
      await new Promise((resolve) => {
        const { stop } = clf.classifyStream(video, {
          topK: 1,
          signal: ctl.signal,
          onResult: (r) => {
            seen.push({ label: r.top[0].label, timestamp: r.timestamp, ms: r.ms });
            if (seen.length === 12) { ctl.abort(); resolve(); }
          },
          onError: (e) => { seen.push({ error: e.code }); stop(); resolve(); },
        });
        // The classifier's calls are synchronous: count how many overlap.
        const orig = clf.classify.bind(clf);
        clf.classify = async (...a) => { inFlight += 1; most = Math.max(most, inFlight); try { return await orig(...a); } finally { inFlight -= 1; } };
      });
      const after = seen.length;
      await new Promise((r) => setTimeout(r, 500));
      return { refusals, seen, after, final: seen.length, most, frames };
    });
    console.log(`classifyStream: ${out.seen.length} results over ${out.frames} video frames, first ${JSON.stringify(out.seen[0])}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(out.refusals, ['E_ARGUMENT', 'E_ARGUMENT', 'E_ARGUMENT', 'E_ARGUMENT']);
    assert.equal(out.seen.length, 12);
    assert.ok(out.seen.every((r) => /tench/.test(r.label)), JSON.stringify(out.seen));
    for (let i = 1; i < out.seen.length; i++) assert.ok(out.seen[i].timestamp > out.seen[i - 1].timestamp, 'each result is a newer frame');
    assert.equal(out.most, 1, 'one frame in flight');
    assert.equal(out.final, out.after, 'nothing after the signal fired');
  } finally {
    await browser.close();
  }
});
