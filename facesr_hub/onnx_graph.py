"""Exact rewrites of an exported ONNX graph that onnxruntime's CPU kernels run faster.

PyTorch's exporter maps every layer to the obvious ONNX operator, and two of those are slow in onnxruntime on CPU
for the small generators (``fast``: 18 convs, 17 PReLUs, one bicubic skip):

* ``PRelu``: onnxruntime runs convolutions in a blocked channel layout (NCHWc) and can fuse Relu or LeakyRelu into
  a convolution, but not PRelu (its slope differs per channel). Each PRelu therefore costs its own pass plus a
  reorder out of and back into the blocked layout, around every conv. Rewritten as
  ``x + (1 - a) * relu(-x)``: two depthwise 1x1 convolutions (the first with Relu fused, the second with the Add
  fused), which stay in the blocked layout.
* ``Resize`` in cubic mode (the bicubic skip): onnxruntime's cubic resize is a generic per-pixel loop. An integer
  upscale by ``r`` with half-pixel centres is a fixed 5x5 filter per output phase, so it is rewritten as edge
  padding, one grouped convolution with ``r * r`` phases per channel and ``DepthToSpace`` (the layout PyTorch's
  ``PixelShuffle`` uses), which is what PyTorch's own bicubic computes, index clamping at borders included.

Both rewrites are the same arithmetic in another order (the export's parity check measures the difference, about
140 dB PSNR); nodes that do not match the expected form are left as they are.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper


def optimize_for_onnxruntime(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return ``model`` with PRelu and integer bicubic upscales rewritten as blocked-layout friendly convolutions."""
    model = onnx.shape_inference.infer_shapes(model)
    channels = _channel_counts(model)
    constants = _constant_values(model)
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    for node in graph.node:
        replacement = (_prelu_as_depthwise(node, constants, channels, initializers) if node.op_type == "PRelu"
                       else _cubic_resize_as_conv(node, constants, channels, initializers)
                       if node.op_type == "Resize" else None)
        nodes.extend([node] if replacement is None else replacement)
    graph.ClearField("node")
    graph.node.extend(nodes)
    graph.initializer.extend(initializers)
    graph.ClearField("value_info")  # shapes inferred above; stale entries for removed tensors would only mislead
    _drop_unused(graph)
    return model


def _channel_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Tensor name -> channel count (dim 1) for every rank-4 tensor whose channel dim is known."""
    counts = {}
    for value in (*model.graph.input, *model.graph.value_info, *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].HasField("dim_value"):
            counts[value.name] = dims[1].dim_value
    return counts


def _constant_values(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Tensor name -> value for initializers and ``Constant`` nodes."""
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _prelu_as_depthwise(node: onnx.NodeProto, constants: dict[str, np.ndarray], channels: dict[str, int],
                        initializers: list[onnx.TensorProto]) -> list[onnx.NodeProto] | None:
    """``PRelu(x, a)`` -> ``x + Conv_dw(Relu(Conv_dw(x, -1)), 1 - a)``; ``None`` when the node is not NCHW."""
    x, y = node.input[0], node.output[0]
    slope, count = constants.get(node.input[1]), channels.get(x)
    if slope is None or count is None or slope.size not in (1, count):
        return None
    slope = np.broadcast_to(slope.astype(np.float32).reshape(-1), (count,))
    prefix = _unique_prefix(node, "prelu")
    initializers += [numpy_helper.from_array(np.full((count, 1, 1, 1), -1.0, np.float32), prefix + "negate"),
                     numpy_helper.from_array((1.0 - slope).reshape(count, 1, 1, 1), prefix + "keep")]
    depthwise = dict(group=count, kernel_shape=[1, 1])
    return [
        helper.make_node("Conv", [x, prefix + "negate"], [prefix + "neg"], name=prefix + "neg", **depthwise),
        helper.make_node("Relu", [prefix + "neg"], [prefix + "relu_neg"], name=prefix + "relu_neg"),
        helper.make_node("Conv", [prefix + "relu_neg", prefix + "keep"], [prefix + "scaled"], name=prefix + "scaled",
                         **depthwise),
        helper.make_node("Add", [x, prefix + "scaled"], [y], name=prefix + "add"),
    ]


def _cubic_resize_as_conv(node: onnx.NodeProto, constants: dict[str, np.ndarray], channels: dict[str, int],
                          initializers: list[onnx.TensorProto]) -> list[onnx.NodeProto] | None:
    """An integer bicubic upscale -> edge Pad, grouped Conv, DepthToSpace; ``None`` for any other Resize."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if (attrs.get("mode") != b"cubic" or attrs.get("coordinate_transformation_mode") != b"half_pixel"
            or attrs.get("exclude_outside", 0) or len(node.input) < 3 or any(node.input[3:])):
        return None
    scales, count = constants.get(node.input[2]), channels.get(node.input[0])
    if scales is None or count is None or scales.shape != (4,) or list(scales[:2]) != [1.0, 1.0]:
        return None
    scale = scales[2]
    if scale != scales[3] or scale < 2 or scale != math.floor(scale):
        return None
    taps, reach = _bicubic_phase_taps(int(scale), float(attrs.get("cubic_coeff_a", -0.75)))
    side = 2 * reach + 1
    # Output phase (p, q) of each channel is output channel c * r * r + p * r + q: DepthToSpace's CRD order.
    kernel = np.einsum("pu,qv->pquv", taps, taps).reshape(int(scale) ** 2, 1, side, side)
    prefix = _unique_prefix(node, "bicubic")
    initializers += [
        numpy_helper.from_array(np.tile(kernel, (count, 1, 1, 1)).astype(np.float32), prefix + "kernel"),
        numpy_helper.from_array(np.array([0, 0, reach, reach, 0, 0, reach, reach], np.int64), prefix + "pads"),
    ]
    return [
        # Edge padding is PyTorch's border rule: indices outside the image are clamped to the nearest pixel.
        helper.make_node("Pad", [node.input[0], prefix + "pads"], [prefix + "padded"], name=prefix + "pad",
                         mode="edge"),
        helper.make_node("Conv", [prefix + "padded", prefix + "kernel"], [prefix + "phases"], name=prefix + "conv",
                         group=count, kernel_shape=[side, side]),
        helper.make_node("DepthToSpace", [prefix + "phases"], [node.output[0]], name=prefix + "shuffle",
                         blocksize=int(scale), mode="CRD"),
    ]


def _bicubic_phase_taps(scale: int, a: float) -> tuple[np.ndarray, int]:
    """(scale, 2 * reach + 1) weights: output phase p of input pixel i reads pixels i - reach .. i + reach."""
    def cubic(distance: float) -> float:  # Keys' kernel, as ONNX Resize and PyTorch define it
        d = abs(distance)
        if d <= 1:
            return ((a + 2) * d - (a + 3)) * d * d + 1
        if d < 2:
            return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        return 0.0

    phases = []
    for phase in range(scale):
        source = (phase + 0.5) / scale - 0.5  # half-pixel centres, relative to input pixel i
        first = math.floor(source) - 1
        frac = source - math.floor(source)
        phases.append((first, [cubic(frac + 1), cubic(frac), cubic(1 - frac), cubic(2 - frac)]))
    reach = max(max(-first, first + 3) for first, _ in phases)
    taps = np.zeros((scale, 2 * reach + 1))
    for phase, (first, weights) in enumerate(phases):
        taps[phase, first + reach:first + reach + 4] = weights
    return taps, reach


def _unique_prefix(node: onnx.NodeProto, kind: str) -> str:
    return f"facesr_{kind}_{node.output[0].strip('/').replace('/', '_')}_"


def _drop_unused(graph: onnx.GraphProto) -> None:
    """Remove initializers and ``Constant`` nodes that no node reads any more (the replaced slopes and scales)."""
    used = {name for node in graph.node for name in node.input} | {output.name for output in graph.output}
    keep = [init for init in graph.initializer if init.name in used]
    graph.ClearField("initializer")
    graph.initializer.extend(keep)
    nodes = [node for node in graph.node if node.op_type != "Constant" or node.output[0] in used]
    graph.ClearField("node")
    graph.node.extend(nodes)
