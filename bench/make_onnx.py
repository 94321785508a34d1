"""MobileNetV2 1.0/224 as an ONNX graph with generated weights, for onnxruntime-web in the
benchmark (latency does not depend on the weights). Same architecture as the published TFLite
file: BatchNorm folded into conv bias, ReLU6 as Clip(0, 6), 1001 classes.

    python3 bench/make_onnx.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
nodes, inits = [], []


def const(name, array):
    inits.append(numpy_helper.from_array(array.astype(np.float32), name))
    return name


def conv(x, cin, cout, k, stride, groups, relu6, name):
    w = rng.standard_normal((cout, cin // groups, k, k)).astype(np.float32) * np.sqrt(2.0 / (k * k * cin / groups))
    pads = [(k - 1) // 2] * 4 if stride == 1 else [0, 0, 1, 1]  # TF "SAME" at stride 2: pad after
    y = name + "_out"
    nodes.append(helper.make_node("Conv", [x, const(name + "_w", w), const(name + "_b", np.zeros(cout))], [y],
                                  kernel_shape=[k, k], strides=[stride, stride], group=groups, pads=pads))
    if relu6:
        z = name + "_relu6"
        nodes.append(helper.make_node("Clip", [y, const(name + "_lo", np.array(0.0)), const(name + "_hi", np.array(6.0))], [z]))
        return z
    return y


# (expansion t, channels c, repeats n, stride s), as in the MobileNetV2 paper.
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def main(out):
    x = conv("input", 3, 32, 3, 2, 1, True, "stem")
    cin, i = 32, 0
    for t, c, n, s in BLOCKS:
        for r in range(n):
            stride = s if r == 0 else 1
            h = x
            hidden = cin * t
            if t != 1:
                h = conv(h, cin, hidden, 1, 1, 1, True, f"b{i}_expand")
            h = conv(h, hidden, hidden, 3, stride, hidden, True, f"b{i}_dw")
            h = conv(h, hidden, c, 1, 1, 1, False, f"b{i}_project")
            if stride == 1 and cin == c:
                y = f"b{i}_add"
                nodes.append(helper.make_node("Add", [x, h], [y]))
                h = y
            x, cin, i = h, c, i + 1
    x = conv(x, cin, 1280, 1, 1, 1, True, "last")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    x = conv("pooled", 1280, 1001, 1, 1, 1, False, "logits")
    nodes.append(helper.make_node("Flatten", [x], ["logits"]))
    graph = helper.make_graph(nodes, "mobilenet_v2_1.0_224", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1001])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="mobilenet-wasm bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)
    params = sum(int(np.prod(t.dims)) for t in inits)
    print(f"{out}: {len(nodes)} nodes, {params / 1e6:.3f} M parameters")


if __name__ == "__main__":
    main(sys.argv[1])
