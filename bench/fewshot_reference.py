"""The few-shot reference: the splits bench/fewshot.mjs drew, on the TFLite interpreter's
embeddings (the input of each base's last dense layer, read with all tensors preserved), with
scikit-learn's cosine 1-nearest-neighbour and logistic regression on the same features the
package's head takes (each embedding scaled by sqrt(d) / the training set's mean norm).

    python3 bench/fewshot_reference.py SPLITS.json   → JSON on stdout
"""
import json
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'tools'))
from reference_crop import crop  # noqa: E402

job = json.load(open(sys.argv[1]))
golden = job["golden"]


def embedder(model):
    it = Interpreter(model_path=model, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    ops = [o for o in it._get_ops_details() if o["op_name"] in ("CONV_2D", "FULLY_CONNECTED")]
    x = ops[-1]["inputs"][0]  # the classifier's input
    detail = next(t for t in it.get_tensor_details() if t["index"] == x)
    scale, zero = detail["quantization"]

    def embed(name):
        it.set_tensor(inp["index"], crop(os.path.join(golden, name), inp["shape"][1])[None])
        it.invoke()
        v = it.get_tensor(x).astype(np.float32).reshape(-1)
        return (v - zero) * scale if scale else v

    return embed


out = {"rows": [], "summary": []}
for base, model in job["bases"].items():
    embed = embedder(model)
    names = sorted({n for s in job["splits"] for part in ("train", "test") for c in job["classes"] for n in s[part][c]})
    e = {n: embed(n) for n in names}
    for s in job["splits"]:
        xs = np.array([e[n] for c in job["classes"] for n in s["train"][c]])
        ys = [c for c in job["classes"] for n in s["train"][c]]
        xt = np.array([e[n] for c in job["classes"] for n in s["test"][c]])
        yt = [c for c in job["classes"] for n in s["test"][c]]
        knn = KNeighborsClassifier(n_neighbors=1, metric="cosine").fit(xs, ys).score(xt, yt)
        scale = np.sqrt(xs.shape[1]) / np.linalg.norm(xs, axis=1).mean()
        lr = LogisticRegression(max_iter=2000).fit(xs * scale, ys).score(xt * scale, yt)
        out["rows"].append({"base": base, "k": s["k"], "seed": s["seed"], "knn": knn, "logreg": lr})
    for k in sorted({s["k"] for s in job["splits"]}):
        rows = [r for r in out["rows"] if r["base"] == base and r["k"] == k]
        out["summary"].append({
            "base": base, "k": k,
            "knn": float(np.mean([r["knn"] for r in rows])),
            "logreg": float(np.mean([r["logreg"] for r in rows])),
        })
print(json.dumps(out))
