// Teach mode: classes named here, camera frames captured while a class's button is held (or
// photos chosen or dropped on a class), training with a progress bar and a loss curve, export
// and import. The examples and the training live in the classifier's worker; this file draws
// and calls the CustomClassifier (`host.custom()`, null while a model loads).
const $ = (id) => document.getElementById(id);

export function teach(video, host) {
  let declared = [];
  let capturing = null;
  let inFlight = false;
  const losses = [];

  const message = (text) => {
    $('teach-message').hidden = !text;
    $('teach-message').textContent = text ?? '';
  };

  /** Runs a Teach action on the custom classifier; its error shown, the classes redrawn. */
  async function act(f) {
    const custom = host.custom();
    if (!custom) return message('the model is still loading');
    try {
      await f(custom);
      message(null);
    } catch (e) {
      message(`${e.code ?? 'E_INTERNAL'}: ${e.message}`);
    }
    render();
  }

  const addPhotos = (label, files) => act(async (custom) => {
    for (const f of files) {
      if (!f.type.startsWith('image/')) continue;
      await custom.addExample(new Uint8Array(await f.arrayBuffer()), label, { flip: true });
    }
    await host.persist();
  });

  function render() {
    const custom = host.custom();
    const taught = custom ? custom.classes.map((label) => ({ label, count: custom.exampleCount(label) })) : [];
    const trained = custom?.trained ?? false;
    const names = [...new Set([...taught.map((c) => c.label), ...declared])];
    $('classes').replaceChildren(...names.map((label) => {
      const count = taught.find((c) => c.label === label)?.count ?? 0;
      const li = document.createElement('li');
      li.dataset.class = label;
      const name = Object.assign(document.createElement('strong'), { textContent: label });
      const n = Object.assign(document.createElement('span'), { textContent: String(count) });
      n.dataset.testid = `count-${label}`;
      const hold = Object.assign(document.createElement('button'), { type: 'button', className: 'hold', textContent: 'Hold to capture' });
      hold.dataset.testid = `hold-${label}`;
      const start = (e) => {
        e.preventDefault();
        capturing = label;
        hold.classList.add('active');
      };
      const stop = () => {
        if (capturing === label) capturing = null;
        hold.classList.remove('active');
      };
      hold.addEventListener('pointerdown', start);
      for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) hold.addEventListener(ev, stop);
      const photos = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/*', multiple: true });
      photos.onchange = () => addPhotos(label, [...photos.files]);
      const add = Object.assign(document.createElement('label'), { className: 'file', textContent: 'add photos ' });
      add.append(photos);
      const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Remove' });
      remove.onclick = () => {
        declared = declared.filter((d) => d !== label);
        act(async (c) => {
          await c.removeClass(label);
          await host.persist();
        });
      };
      // Photos dropped on the class's row are its examples too.
      li.addEventListener('dragover', (e) => e.preventDefault());
      li.addEventListener('drop', (e) => {
        e.preventDefault();
        addPhotos(label, [...e.dataTransfer.files]);
      });
      li.append(name, n, ' examples ', hold, add, remove);
      return li;
    }));
    const ready = taught.filter((c) => c.count > 0).length >= 2;
    $('train').disabled = !ready;
    $('train-status').textContent = trained ? 'trained' : ready ? 'not trained (kNN until then)' : 'needs two classes with examples';
  }

  function drawLoss() {
    const cv = $('loss');
    const ctx = cv.getContext('2d');
    const max = Math.max(...losses, 1e-6);
    ctx.clearRect(0, 0, cv.width, cv.height);
    ctx.strokeStyle = '#d0502a';
    ctx.beginPath();
    losses.forEach((v, i) => ctx.lineTo((i / Math.max(1, losses.length - 1)) * cv.width, cv.height - (v / max) * (cv.height - 2)));
    ctx.stroke();
  }

  function download(bytes, name) {
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  $('new-class').onsubmit = (e) => {
    e.preventDefault();
    const label = $('class-name').value.trim();
    if (label && !declared.includes(label)) declared.push(label);
    $('class-name').value = '';
    render();
  };
  $('train').onclick = () => {
    losses.length = 0;
    $('train').disabled = true;
    $('train-progress').value = 0;
    const epochs = 50;
    let report;
    act(async (custom) => {
      report = await custom.train({
        epochs,
        onProgress: (r) => {
          losses.push(r.loss);
          $('train-progress').value = r.epoch / epochs;
          $('train-status').textContent = `epoch ${r.epoch}/${epochs}, loss ${r.loss.toFixed(3)}`;
          drawLoss();
        },
      });
      await host.persist();
    }).then(() => {
      if (report) $('train-status').textContent = `trained: ${report.epochs} epochs in ${report.ms.toFixed(0)} ms, loss ${report.loss.toFixed(3)}, training accuracy ${(report.accuracy * 100).toFixed(0)} %`;
    });
  };
  $('threshold').oninput = () => { $('threshold-value').textContent = Number($('threshold').value).toFixed(2); };
  $('export-classes').onclick = () => act(async (c) => download(await c.save(), 'custom-classes.mnwc'));
  $('download-tflite').onclick = () => act(async (c) => download(await c.exportTflite(), 'custom-classes.tflite'));
  $('clear-classes').onclick = () => {
    declared = [];
    act(async (c) => {
      await c.clear();
      await host.persist();
    });
  };
  $('import-classes').onchange = async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    const bytes = new Uint8Array(await f.arrayBuffer());
    await act(async (c) => {
      await host.replace(bytes);
      await host.persist();
    });
  };

  return {
    render,
    /** Options for the next classify: custom classes when chosen. */
    classifyOptions: () => ($('use-custom').checked ? { threshold: Number($('threshold').value) } : undefined),
    /** While a class's button is held, frames become its examples (one in flight). */
    async capture() {
      if (!capturing || inFlight || video.readyState < 2) return Boolean(capturing);
      inFlight = true;
      const label = capturing;
      act(async (c) => {
        await c.addExample(video, label, { flip: true });
        await host.persist();
      }).finally(() => { inFlight = false; });
      return true;
    },
  };
}
