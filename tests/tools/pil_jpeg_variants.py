"""Re-encodes golden photos as the JPEG variants people's files come in, and records what PIL
(the reference pipeline's decoder, libjpeg-turbo inside) decodes from each: the sha256 of the
RGB pixels and of the 224 centre crop the reference pipeline makes.

    python3 pil_jpeg_variants.py GOLDEN_DIR OUT_DIR

Writes OUT_DIR/*.jpg and OUT_DIR/expected.json.
"""
import hashlib
import json
import os
import sys

from PIL import Image

golden, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
photos = sorted(os.listdir(golden))[::97][:6]

VARIANTS = {
    "baseline-444": dict(quality=90, subsampling=0),
    "baseline-422": dict(quality=75, subsampling=1),
    "baseline-420": dict(quality=60, subsampling=2),
    "progressive-420": dict(quality=80, subsampling=2, progressive=True),
    "progressive-444": dict(quality=95, subsampling=0, progressive=True),
    "optimized-420": dict(quality=85, subsampling=2, optimize=True),
    "restarts-420": dict(quality=85, subsampling=2, restart_marker_blocks=7),
    "restarts-progressive": dict(quality=70, subsampling=1, progressive=True, restart_marker_rows=1),
    "gray": dict(quality=85, mode="L"),
    "gray-progressive": dict(quality=85, mode="L", progressive=True),
    "cmyk": dict(quality=90, mode="CMYK"),
}


def crop(im, res=224):
    w, h = im.size
    s = round(res / 0.875)
    nw, nh = (s, max(1, round(h * s / w))) if w <= h else (max(1, round(w * s / h)), s)
    im = im.resize((nw, nh), Image.BILINEAR)
    l, t = (nw - res) // 2, (nh - res) // 2
    return im.crop((l, t, l + res, t + res))


expected = {}
for i, photo in enumerate(photos):
    src = Image.open(os.path.join(golden, photo)).convert("RGB")
    # Odd sizes too: partial blocks and MCUs at the right and bottom edges.
    if i % 2:
        src = src.crop((0, 0, src.width - 5 - i, src.height - 3 - i))
    for name, opts in VARIANTS.items():
        opts = dict(opts)
        mode = opts.pop("mode", "RGB")
        path = os.path.join(out, f"{i}-{name}.jpg")
        src.convert(mode).save(path, "JPEG", **opts)
        decoded = Image.open(path).convert("RGB")
        expected[os.path.basename(path)] = {
            "rgb": hashlib.sha256(decoded.tobytes()).hexdigest(),
            "crop": hashlib.sha256(crop(decoded).tobytes()).hexdigest(),
            "size": list(decoded.size),
        }
json.dump(expected, open(os.path.join(out, "expected.json"), "w"), indent=1)
print(len(expected), "files")
