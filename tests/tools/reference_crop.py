"""The reference pipeline's crop, as the TFLite figures were made: the shorter side resized to
res / 0.875 with PIL's bilinear filter, then the centre res × res, as uint8 RGB."""
import numpy as np
from PIL import Image


def crop(path, res):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = round(res / 0.875)
    nw, nh = (s, max(res, round(h * s / w))) if w <= h else (max(res, round(w * s / h)), s)
    im = im.resize((nw, nh), Image.BILINEAR)
    l, t = (nw - res) // 2, (nh - res) // 2
    return np.asarray(im.crop((l, t, l + res, t + res)), dtype=np.uint8)
