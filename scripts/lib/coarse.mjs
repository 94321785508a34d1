// Coarse classes of the golden photos (one photo per ImageNet class), grouped from WordNet ids
// by their ImageNet index: the few-shot benchmark's and the custom-classes tests' classes.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { goldenDir, modelsDir } from './models.mjs';

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** ImageNet indices of each coarse class. */
export const COARSE = {
  dog: range(151, 268),
  bird: [...range(7, 24), ...range(80, 100), ...range(127, 146)],
  'reptile or amphibian': range(25, 68),
  vehicle: [407, 436, 468, 511, 609, 627, 656, 661, 717, 751, 817, 864, 867, 779, 654, 874, 670, 671,
    444, 573, 575, 603, 665, 734, 757, 803, 866, 569, 555, 675, 880, 870, 612, 595, 586, 847],
  food: range(924, 969),
  'musical instrument': [401, 402, 420, 432, 486, 494, 513, 541, 546, 558, 566, 577, 579, 593, 594,
    641, 642, 683, 684, 687, 699, 776, 822, 875, 881, 889],
};

/** Each ImageNet index's golden photo (undefined where the folder lacks one). */
function photoOfIndex() {
  const wnids = readFileSync(path.join(modelsDir(), 'imagenet-wnids.txt'), 'utf8').split('\n').map((l) => l.trim());
  const dir = goldenDir();
  const byWnid = new Map(readdirSync(dir).map((f) => [f.split('_')[0], path.join(dir, f)]));
  return wnids.map((w) => byWnid.get(w));
}

/** `{ class: [photo path, …] }` in ImageNet index order, for the classes named (default: all). */
export function coarsePhotos(names = Object.keys(COARSE)) {
  const photos = photoOfIndex();
  return Object.fromEntries(names.map((name) => [name, COARSE[name].map((i) => photos[i]).filter(Boolean)]));
}

/** Every photo of none of the coarse classes (the open-set check's). */
export function otherPhotos() {
  const taken = new Set(Object.values(COARSE).flat());
  return photoOfIndex().filter((p, i) => p && !taken.has(i));
}
