// Teach mode: classes named here, camera frames captured while a class's button is held (or
// photos chosen or dropped on a class), training with a progress bar and a loss curve, export and import. The examples
// and the training live in the worker; this file draws and sends messages.
const $ = (id) => document.getElementById(id);

export function teach(worker, video) {
  let declared = [];
  let current = { classes: [], trained: false };
  let capturing = null;
  let inFlight = false;
  const losses = [];

  const message = (text) => {
    $('teach-message').hidden = !text;
    $('teach-message').textContent = text ?? '';
  };

  function render() {
    const names = [...new Set([...current.classes.map((c) => c.label), ...declared])];
    $('classes').replaceChildren(...names.map((label) => {
      const count = current.classes.find((c) => c.label === label)?.count ?? 0;
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
      photos.onchange = async () => {
        for (const f of photos.files) {
          const bytes = new Uint8Array(await f.arrayBuffer());
          worker.postMessage({ type: 'customAdd', label, image: bytes }, [bytes.buffer]);
        }
      };
      const add = Object.assign(document.createElement('label'), { className: 'file', textContent: 'add photos ' });
      add.append(photos);
      const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Remove' });
      remove.onclick = () => {
        declared = declared.filter((d) => d !== label);
        worker.postMessage({ type: 'customRemove', label });
        render();
      };
      // Photos dropped on the class's row are its examples too.
      li.addEventListener('dragover', (e) => e.preventDefault());
      li.addEventListener('drop', async (e) => {
        e.preventDefault();
        for (const f of e.dataTransfer.files) {
          if (!f.type.startsWith('image/')) continue;
          const bytes = new Uint8Array(await f.arrayBuffer());
          worker.postMessage({ type: 'customAdd', label, image: bytes }, [bytes.buffer]);
        }
      });
      li.append(name, n, ' examples ', hold, add, remove);
      return li;
    }));
    const ready = current.classes.filter((c) => c.count > 0).length >= 2;
    $('train').disabled = !ready;
    $('train-status').textContent = current.trained ? 'trained' : ready ? 'not trained (kNN until then)' : 'needs two classes with examples';
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
    worker.postMessage({ type: 'customTrain', epochs: 50 });
  };
  $('threshold').oninput = () => { $('threshold-value').textContent = Number($('threshold').value).toFixed(2); };
  $('export-classes').onclick = () => worker.postMessage({ type: 'customExport', what: 'classes' });
  $('download-tflite').onclick = () => worker.postMessage({ type: 'customExport', what: 'tflite' });
  $('clear-classes').onclick = () => {
    declared = [];
    worker.postMessage({ type: 'customClear' });
  };
  $('import-classes').onchange = async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    const bytes = new Uint8Array(await f.arrayBuffer());
    worker.postMessage({ type: 'customImport', bytes }, [bytes.buffer]);
  };

  return {
    /** Options for the next classify: custom classes when chosen. */
    classifyOptions: () => ($('use-custom').checked ? { threshold: Number($('threshold').value) } : undefined),
    /** While a class's button is held, frames become its examples (one in flight). */
    async capture() {
      if (!capturing || inFlight || video.readyState < 2) return Boolean(capturing);
      inFlight = true;
      const bitmap = await createImageBitmap(video);
      worker.postMessage({ type: 'customAdd', label: capturing, image: bitmap }, [bitmap]);
      return true;
    },
    /** A worker message for Teach mode; whether it was one. */
    handle(data) {
      if (data.type === 'custom' || data.type === 'loaded') {
        current = data.type === 'loaded' ? data.custom : data.state;
        if (data.type === 'custom') inFlight = false;
        render();
      } else if (data.type === 'trainProgress') {
        losses.push(data.loss);
        $('train-progress').value = data.epoch / data.epochs;
        $('train-status').textContent = `epoch ${data.epoch}/${data.epochs}, loss ${data.loss.toFixed(3)}`;
        drawLoss();
      } else if (data.type === 'trained') {
        current = data.state;
        render();
        $('train-status').textContent = `trained: ${data.report.epochs} epochs in ${data.report.ms.toFixed(0)} ms, loss ${data.report.loss.toFixed(3)}, training accuracy ${(data.report.accuracy * 100).toFixed(0)} %`;
      } else if (data.type === 'exported') {
        download(data.bytes, data.what === 'tflite' ? 'custom-classes.tflite' : 'custom-classes.mnwc');
      } else if (data.type === 'error' && data.during?.startsWith('custom')) {
        inFlight = false;
        message(`${data.code}: ${data.message}`);
        render();
      } else {
        return false;
      }
      if (data.type !== 'error') message(null);
      return true;
    },
  };
}
