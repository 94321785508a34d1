// The taught classes of each model, kept in IndexedDB (this browser, this origin) across reloads:
// the bytes `CustomClassifier.save()` returns, keyed by the model's name.
const DB = 'mobilenet-wasm';
const STORE = 'custom-classes';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function run(mode, f) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = f(tx.objectStore(STORE));
    tx.oncomplete = () => {
      db.close();
      resolve(req.result);
    };
    tx.onerror = () => {
      db.close();
      reject(tx.error);
    };
  }));
}

/** Saved bytes of `name`'s classes, or undefined. */
export function loadSaved(name) {
  return run('readonly', (s) => s.get(name));
}

/** Keeps `bytes` as `name`'s classes. */
export function store(name, bytes) {
  return run('readwrite', (s) => s.put(bytes, name));
}
