"""Runs a custom-classes export in the TFLite interpreter (ai-edge-litert) on the photos
`tests/custom_tests.rs` classified with it, and compares the top-1 labels and probabilities.

    python3 tests/tools/check_export.py target/custom-export GOLDEN_DIR

Reads DIR/custom.tflite and DIR/ours.json (written by the test); prints the agreement.
"""
import json
import os
import sys
import zipfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from reference_crop import crop

out, golden = sys.argv[1], sys.argv[2]
model = os.path.join(out, "custom.tflite")
ours = json.load(open(os.path.join(out, "ours.json")))
labels = zipfile.ZipFile(model).read("labels.txt").decode().splitlines()

it = Interpreter(model_path=model)
it.allocate_tensors()
inp, outp = it.get_input_details()[0], it.get_output_details()[0]
res = inp["shape"][1]


same, worst = 0, 0.0
for r in ours:
    x = crop(os.path.join(golden, r["photo"]), res)[None]
    if inp["dtype"] == np.float32:
        x = x.astype(np.float32) / 127.5 - 1.0
    it.set_tensor(inp["index"], x.astype(inp["dtype"]))
    it.invoke()
    p = it.get_tensor(outp["index"])[0]
    top = int(np.argmax(p))
    same += labels[top] == r["top1"]
    worst = max(worst, abs(float(p[top]) - r["probability"]))
print(f"TFLite interpreter on {model}: {same}/{len(ours)} same top-1, "
      f"largest top-1 probability difference {worst:.2e}, labels {labels}")
sys.exit(0 if same == len(ours) else 1)
