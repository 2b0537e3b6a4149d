"""The training configuration: one dataclass, validated on construction, and the argparse parser that fills it.

Defaults follow ESRGAN / Real-ESRGAN (HR patch 128, batch 16, Adam betas (0.9, 0.99), a PSNR stage with L1 only
at lr 2e-4, then a GAN stage at lr 1e-4), so ``--data DIR --arch NAME`` alone trains a sensible model.

GAN-stage loss weights, and why:
- ``pixel_weight = 1.0``: ESRGAN drops L1 to 0.01, but our GAN stage is short and the models are small; keeping
  L1 at full weight (as Real-ESRGAN does) anchors colours and keeps PSNR from collapsing while detail grows.
- ``perceptual_weight = 1.0``: VGG feature loss, the main source of sharpness (ESRGAN and Real-ESRGAN both use 1).
- ``perceptual_layers = ("conv5_3",)``: VGG16's counterpart of ESRGAN's single deep layer. Real-ESRGAN's choice,
  ``conv1_2 conv2_2 conv3_3 conv4_3 conv5_3`` weighted ``0.1 0.1 1 1 1``, also matches edges and fine texture,
  which is what LPIPS's shallow layers weigh most.
- ``gan_weight = 0.05``: between ESRGAN's 0.005 and Real-ESRGAN's 0.1. Faces show GAN artefacts (teeth, eyes)
  quickly, and a spectral-norm PatchGAN gives strong gradients; 0.05 adds texture without the artefacts that 0.1
  gave in short runs, where 0.005 hardly moves the PSNR model.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.degradations import DEGRADATIONS, DegradationConfig
from ..data.sampling import check_source_weights
from ..discriminators import DISCRIMINATORS
from ..generators import GENERATORS
from ..losses import CRITERIA as PERCEPTUAL_CRITERIA
from ..losses import VGG16_CONV_LAYERS, check_perceptual_layers

GAN_LOSSES = ("vanilla", "hinge", "relativistic")
HR_SOURCES = ("native", "resized")
OPTIMIZERS = ("adam", "adamw")
DEFAULT_TOTAL_STEPS = 50_000

#: Fields that may change between a run and its ``--resume`` (they do not change what is trained).
RESUMABLE_CHANGES = frozenset({
    "resume", "push_to_hub", "val_every", "save_every", "log_every", "keep_checkpoints", "compile", "num_workers",
    "grid_images", "data", "val_lpips",
})


@dataclass
class TrainConfig:
    """Everything a training run depends on. Round-trips through JSON (``to_dict`` / ``from_dict``)."""

    data: list[str]
    output_dir: str
    arch: str = "fast"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    # Start from these weights (bundled name, folder or Hub repo of the same architecture) instead of random.
    init_from: str | None = None
    # Start the GAN stage's discriminator from one a GAN run saved (its output folder or its discriminator/ folder).
    init_discriminator_from: str | None = None
    # Data: HR patches from each source's own pixels ("native") or from the protocol's 256x256 resize ("resized").
    hr_source: str = "native"
    # LR inputs: the protocol's bicubic downscale, or the realistic chain (blur, resize, noise, JPEG; data.degradations)
    degradation: str = "bicubic"
    degradation_kwargs: dict[str, Any] = field(default_factory=dict)
    # Length: --max-steps N (split by pixel_fraction) or explicit stage steps, or a time budget.
    max_steps: int | None = None
    pixel_steps: int | None = None
    gan_steps: int | None = None
    max_minutes: float | None = None
    pixel_fraction: float = 0.6
    # Batches.
    batch_size: int = 16
    patch_size: int = 128
    # GAN stage (VGG16 + discriminator cost ~10x a PSNR step): its own, usually smaller, batch and patch.
    gan_batch_size: int | None = None
    gan_patch_size: int | None = None
    max_train_images: int | None = None
    # Share of the batches drawn from each --data root (relative weights, one per root); None = uniform by image.
    source_weights: list[float] | None = None
    # Optimisation.
    optimizer: str = "adam"
    lr: float = 2e-4
    gan_lr: float = 1e-4
    d_lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 500
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    # Losses (GAN stage; the PSNR stage is pixel L1 only).
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    perceptual_layers: list[str] = field(default_factory=lambda: ["conv5_3"])
    perceptual_layer_weights: list[float] | None = None  # one per layer; None = all 1
    perceptual_criterion: str = "l1"  # l1 | l2 on raw features, or normalized (LPIPS-style, channel-normalised)
    gan_weight: float = 0.05
    gan_loss: str = "relativistic"
    discriminator: str = "patchgan"
    conditional_d: bool = False
    d_channels: int | None = None  # the discriminator's base width; None = its class default (64)
    # Validation, logging, checkpoints.
    val_images: int = 64
    val_every: int = 1000
    val_lpips: bool = True  # False where the AlexNet weights are not at hand (the GPU image)
    grid_images: int = 4
    log_every: int = 20
    save_every: int = 1000
    keep_checkpoints: int = 2
    # Running.
    seed: int = 0
    resume: bool = False
    push_to_hub: str | None = None
    compile: bool = False
    num_workers: int | None = None

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("give at least one --data folder")
        self.data = [str(d) for d in self.data]
        self.output_dir = str(self.output_dir)
        if self.arch not in GENERATORS:
            raise ValueError(f"--arch must be one of {sorted(GENERATORS)}, got {self.arch!r}")
        check_arch_kwargs(self.arch, self.arch_kwargs)
        if self.discriminator not in DISCRIMINATORS:
            raise ValueError(f"--discriminator must be one of {sorted(DISCRIMINATORS)}, got {self.discriminator!r}")
        if self.conditional_d and self.discriminator == "seed":
            raise ValueError("--conditional-d needs --discriminator patchgan or unet (the seed discriminator has no "
                             "LR input)")
        if self.d_channels is not None and self.d_channels < 1:
            raise ValueError(f"--d-channels must be >= 1, got {self.d_channels}")
        if self.gan_loss not in GAN_LOSSES:
            raise ValueError(f"--gan-loss must be one of {GAN_LOSSES}, got {self.gan_loss!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"--optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.max_minutes is not None:
            if self.max_steps is not None or self.pixel_steps is not None or self.gan_steps is not None:
                raise ValueError("--max-minutes excludes --max-steps/--pixel-steps/--gan-steps (pick one budget)")
            if not self.max_minutes > 0:
                raise ValueError(f"--max-minutes must be > 0, got {self.max_minutes}")
        for name in ("max_steps", "pixel_steps", "gan_steps"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
        if not 0.0 <= self.pixel_fraction <= 1.0:
            raise ValueError(f"--pixel-fraction must be in [0, 1], got {self.pixel_fraction}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        for name in ("patch_size", "gan_patch_size"):
            value = getattr(self, name)
            if value is not None and (value < 4 or value % 4 or value > 256):
                raise ValueError(f"--{name.replace('_', '-')} must be a multiple of 4 in [4, 256] (HR pixels), "
                                 f"got {value}")
        if self.gan_batch_size is not None and self.gan_batch_size < 1:
            raise ValueError(f"--gan-batch-size must be >= 1, got {self.gan_batch_size}")
        if self.hr_source not in HR_SOURCES:
            raise ValueError(f"--hr-source must be one of {HR_SOURCES}, got {self.hr_source!r}")
        if self.degradation not in DEGRADATIONS:
            raise ValueError(f"--degradation must be one of {DEGRADATIONS}, got {self.degradation!r}")
        if self.degradation_kwargs and self.degradation != "realistic":
            raise ValueError("--degradation-kwargs only apply to --degradation realistic")
        self.degradation_config()  # raises on unknown keys or bad ranges
        for name in ("lr", "gan_lr", "d_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "grad_clip", "pixel_weight", "perceptual_weight", "gan_weight", "warmup_steps",
                     "val_images", "grid_images"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        self.perceptual_layers = [str(name) for name in self.perceptual_layers]
        if self.perceptual_layer_weights is not None:
            self.perceptual_layer_weights = [float(w) for w in self.perceptual_layer_weights]
        if self.perceptual_criterion not in PERCEPTUAL_CRITERIA:
            raise ValueError(f"--perceptual-criterion must be one of {PERCEPTUAL_CRITERIA}, "
                             f"got {self.perceptual_criterion!r}")
        check_perceptual_layers(self.perceptual_layers, self.perceptual_layer_weights,
                                layers_name="--perceptual-layers", weights_name="--perceptual-layer-weights")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"--ema-decay must be in [0, 1), got {self.ema_decay}")
        for name in ("val_every", "log_every", "save_every", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.source_weights is not None:
            self.source_weights = [float(w) for w in self.source_weights]
            if len(self.source_weights) != len(self.data):
                raise ValueError(f"--source-weights needs one weight per --data root ({len(self.data)}), got "
                                 f"{len(self.source_weights)}")
            check_source_weights(self.source_weights, name="--source-weights")
            if len({str(Path(d).resolve()) for d in self.data}) != len(self.data):
                raise ValueError("--source-weights needs distinct --data roots (a repeated root would be read once)")
        if self.max_train_images is not None and self.max_train_images < 1:
            raise ValueError(f"--max-train-images must be >= 1, got {self.max_train_images}")
        if self.push_to_hub is not None and self.push_to_hub.count("/") != 1:
            raise ValueError(f"--push-to-hub takes a repo id 'owner/name', got {self.push_to_hub!r}")
        self.stage_steps()  # raises on inconsistent step counts
        if self.init_discriminator_from is not None and not self.uses_gan:
            raise ValueError("--init-discriminator-from needs a GAN stage (--pixel-fraction < 1 or --gan-steps > 0)")

    def degradation_config(self) -> DegradationConfig | None:
        """The realistic chain's settings (None for the protocol's bicubic degradation)."""
        if self.degradation != "realistic":
            return None
        return DegradationConfig.from_dict(self.degradation_kwargs)

    def stage_batch(self, stage: str) -> tuple[int, int]:
        """(batch size, HR patch size) of ``stage`` ("psnr" or "gan")."""
        if stage == "gan":
            return self.gan_batch_size or self.batch_size, self.gan_patch_size or self.patch_size
        return self.batch_size, self.patch_size

    @property
    def time_budget_s(self) -> float | None:
        return None if self.max_minutes is None else self.max_minutes * 60.0

    def stage_steps(self) -> tuple[int, int] | None:
        """(PSNR-stage steps, GAN-stage steps), or None under a time budget (planned when training starts)."""
        if self.max_minutes is not None:
            return None
        if self.pixel_steps is not None or self.gan_steps is not None:
            total = self.max_steps
            pixel, gan = self.pixel_steps, self.gan_steps
            if pixel is None:
                pixel = (total if total is not None else DEFAULT_TOTAL_STEPS) - gan
            if gan is None:
                gan = (total if total is not None else DEFAULT_TOTAL_STEPS) - pixel
            if pixel < 0 or gan < 0 or (total is not None and pixel + gan != total):
                raise ValueError(f"--pixel-steps {self.pixel_steps} + --gan-steps {self.gan_steps} do not fit "
                                 f"--max-steps {total}")
        else:
            total = DEFAULT_TOTAL_STEPS if self.max_steps is None else self.max_steps
            pixel = round(total * self.pixel_fraction)
            gan = total - pixel
        if pixel + gan < 1:
            raise ValueError("the run has no steps; give --max-steps, --pixel-steps/--gan-steps or --max-minutes")
        return pixel, gan

    @property
    def uses_gan(self) -> bool:
        steps = self.stage_steps()
        return self.pixel_fraction < 1.0 if steps is None else steps[1] > 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(values) - known):
            raise ValueError(f"unknown training config keys {unknown}")
        return cls(**values)

    def changes_from(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields (other than ``RESUMABLE_CHANGES``) whose values differ: {name: (other's, this one's)}."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {k: (theirs[k], mine[k]) for k in mine if k not in RESUMABLE_CHANGES and mine[k] != theirs[k]}


def check_arch_kwargs(arch: str, arch_kwargs: Any) -> None:
    """Refuse ``--arch-kwargs`` that the generator's constructor would not take, naming the accepted ones."""
    if not isinstance(arch_kwargs, dict):
        raise ValueError(f"--arch-kwargs must be a JSON object, got {type(arch_kwargs).__name__}")
    parameters = inspect.signature(GENERATORS[arch].__init__).parameters
    accepted = sorted(n for n, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY)
    if unknown := sorted(set(arch_kwargs) - set(accepted)):
        raise ValueError(f"--arch-kwargs: {arch!r} takes no {unknown}; it accepts {accepted}")
    try:
        GENERATORS[arch](**arch_kwargs)  # cheap for every generator; surfaces bad values now, not after data loads
    except (TypeError, ValueError) as error:
        raise ValueError(f"--arch-kwargs {json.dumps(arch_kwargs)} are invalid for {arch!r}: {error}") from error


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text!r}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object like '{{\"num_convs\": 8}}', got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``train.py`` command line; every option maps 1:1 onto a ``TrainConfig`` field."""
    d = TrainConfig.__dataclass_fields__
    p = argparse.ArgumentParser(
        prog="train.py", description="Train a FaceSR-Hub 4x face super-resolution generator (PSNR stage, then GAN).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Multi-GPU / multi-node: `accelerate launch train.py ...`. Time budgets (--max-minutes) plan their "
               "step counts from measured speed, so they are not bit-reproducible; step budgets are.")
    g = p.add_argument_group("data and model")
    g.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="image root (CelebA Kaggle/torchvision layout or any folder); repeat to mix several")
    g.add_argument("--arch", default=d["arch"].default, choices=sorted(GENERATORS), help="generator architecture")
    g.add_argument("--arch-kwargs", type=_json_object, default={}, metavar="JSON",
                   help="generator constructor arguments, e.g. '{\"num_convs\": 8}'")
    g.add_argument("--output-dir", required=True, metavar="DIR", help="checkpoints, logs, samples and final model")
    g.add_argument("--init-from", default=None, metavar="NAME|PATH|REPO",
                   help="fine-tune: start from these weights (same architecture and config) instead of random")
    g.add_argument("--hr-source", default=d["hr_source"].default, choices=HR_SOURCES,
                   help="HR patches from each image's own pixels (never upsampled) or from the 256x256 protocol resize")
    g.add_argument("--degradation", default=d["degradation"].default, choices=DEGRADATIONS,
                   help="LR inputs: the protocol's bicubic /4, or realistic blur/resize/noise/JPEG (blind models)")
    g.add_argument("--degradation-kwargs", type=_json_object, default={}, metavar="JSON",
                   help="realistic-chain settings (facesr_hub.data.DegradationConfig), e.g. '{\"jpeg_prob\": 0.5}'")
    g.add_argument("--max-train-images", type=int, default=None, help="use only this many training images")
    g.add_argument("--source-weights", type=float, nargs="+", default=None, metavar="W",
                   help="relative share of the batches from each --data root, in order (default: uniform by image)")
    g = p.add_argument_group("length (steps or time)")
    g.add_argument("--max-steps", type=int, default=None,
                   help=f"total steps, split by --pixel-fraction (default {DEFAULT_TOTAL_STEPS})")
    g.add_argument("--pixel-steps", type=int, default=None, help="PSNR-stage steps (pixel loss only)")
    g.add_argument("--gan-steps", type=int, default=None, help="GAN-stage steps (0: PSNR model only)")
    g.add_argument("--max-minutes", type=_positive_float, default=None,
                   help="time budget instead of steps; stage steps are planned from measured speed")
    g.add_argument("--pixel-fraction", type=float, default=d["pixel_fraction"].default,
                   help="share of --max-steps / --max-minutes for the PSNR stage")
    g = p.add_argument_group("batches and optimisation")
    g.add_argument("--batch-size", type=int, default=d["batch_size"].default, help="per process")
    g.add_argument("--patch-size", type=int, default=d["patch_size"].default, help="HR crop size (LR is 1/4)")
    g.add_argument("--gan-batch-size", type=int, default=None, help="GAN-stage batch (default: --batch-size)")
    g.add_argument("--gan-patch-size", type=int, default=None, help="GAN-stage HR crop (default: --patch-size)")
    g.add_argument("--optimizer", default=d["optimizer"].default, choices=OPTIMIZERS)
    g.add_argument("--lr", type=float, default=d["lr"].default, help="generator lr, PSNR stage")
    g.add_argument("--gan-lr", type=float, default=d["gan_lr"].default, help="generator lr, GAN stage")
    g.add_argument("--d-lr", type=float, default=d["d_lr"].default, help="discriminator lr")
    g.add_argument("--weight-decay", type=float, default=d["weight_decay"].default)
    g.add_argument("--warmup-steps", type=int, default=d["warmup_steps"].default,
                   help="linear warm-up per stage (at most 10%% of the stage), then cosine decay to 0")
    g.add_argument("--grad-clip", type=float, default=d["grad_clip"].default, help="max grad norm; 0 disables")
    g.add_argument("--ema-decay", type=float, default=d["ema_decay"].default, help="EMA of generator weights")
    g.add_argument("--seed", type=int, default=d["seed"].default)
    g.add_argument("--compile", action="store_true", help="torch.compile the generator (CUDA only)")
    g = p.add_argument_group("losses (GAN stage)")
    g.add_argument("--pixel-weight", type=float, default=d["pixel_weight"].default, help="L1 weight")
    g.add_argument("--perceptual-weight", type=float, default=d["perceptual_weight"].default,
                   help="VGG16 feature loss weight; 0 disables")
    g.add_argument("--perceptual-layers", nargs="+", default=d["perceptual_layers"].default_factory(),
                   choices=list(VGG16_CONV_LAYERS), metavar="LAYER",
                   help="VGG16 conv layers (pre-ReLU) the perceptual loss compares, e.g. conv1_2 conv2_2 conv3_3 "
                        "conv4_3 conv5_3 (Real-ESRGAN's set)")
    g.add_argument("--perceptual-layer-weights", nargs="+", type=float, default=None, metavar="W",
                   help="one weight per --perceptual-layers entry (Real-ESRGAN: 0.1 0.1 1 1 1); default all 1")
    g.add_argument("--perceptual-criterion", default=d["perceptual_criterion"].default, choices=PERCEPTUAL_CRITERIA,
                   help="distance between VGG features: l1 or l2 on raw features (ESRGAN), or normalized: unit "
                        "length over channels, squared difference (LPIPS-style, every layer on one scale)")
    g.add_argument("--gan-weight", type=float, default=d["gan_weight"].default, help="adversarial loss weight")
    g.add_argument("--gan-loss", default=d["gan_loss"].default, choices=GAN_LOSSES)
    g.add_argument("--discriminator", default=d["discriminator"].default, choices=sorted(DISCRIMINATORS))
    g.add_argument("--conditional-d", action="store_true",
                   help="the discriminator (patchgan or unet) also sees the bicubic-upscaled LR")
    g.add_argument("--d-channels", type=int, default=None, metavar="N",
                   help="the discriminator's base width (default 64, as Real-ESRGAN's; 32 costs a quarter)")
    g.add_argument("--init-discriminator-from", default=None, metavar="PATH",
                   help="continue a GAN stage against the discriminator a GAN run saved (its --output-dir or its "
                        "discriminator/ folder; same --discriminator, --conditional-d and --d-channels) instead of a "
                        "fresh one")
    g = p.add_argument_group("validation, logging, checkpoints")
    g.add_argument("--val-images", type=int, default=d["val_images"].default,
                   help="whole 256x256 validation images (val split); 0 disables validation")
    g.add_argument("--val-every", type=int, default=d["val_every"].default)
    g.add_argument("--no-val-lpips", dest="val_lpips", action="store_false",
                   help="validate on PSNR/SSIM only (no AlexNet weights needed, e.g. on the GPU training image)")
    g.add_argument("--grid-images", type=int, default=d["grid_images"].default, help="rows of the sample grid")
    g.add_argument("--log-every", type=int, default=d["log_every"].default)
    g.add_argument("--save-every", type=int, default=d["save_every"].default)
    g.add_argument("--keep-checkpoints", type=int, default=d["keep_checkpoints"].default)
    g.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --output-dir")
    g.add_argument("--push-to-hub", default=None, metavar="REPO_ID", help="push the EMA generator + card at the end")
    g.add_argument("--num-workers", type=int, default=None, help="image decoding threads")
    return p


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    """Parse ``argv`` into a validated ``TrainConfig``; invalid values exit with argparse's usage error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return TrainConfig(**vars(args))
    except ValueError as error:
        parser.error(str(error))
        raise  # unreachable: parser.error exits
