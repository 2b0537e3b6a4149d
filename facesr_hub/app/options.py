"""What a request may ask for: the modes, output scales, input limits, and which model each mode starts with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

MODE_ALIGNED = "Aligned face"
MODE_PHOTO = "Whole photo"
MODES = (MODE_ALIGNED, MODE_PHOTO)
COMPARE_MODES = ("bicubic", "nearest")
BACKGROUNDS = ("bicubic", "fast")
#: Whole-photo output scales, as the UI and the API spell them. x1 restores the faces and keeps the photo's size.
SCALES = {"x4": 4, "x2": 2, "x1": 1}
#: The x4 input limit (aligned faces too): 1024x1024 LR pixels, so an output is at most 4096x4096 (~16 MP).
DEFAULT_MAX_PIXELS = 1024 * 1024
#: The x2 / x1 input limit: any phone photo (12 MP is 4032x3024). At x2 the output is 4x as many pixels; memory
#: stays bounded because the background is only resized (never run through a model) and faces go one at a time.
DEFAULT_MAX_PHOTO_PIXELS = 4096 * 4096
#: Faces whose detection box is smaller than this many pixels (side) are left as the background renders them.
DEFAULT_MIN_FACE = 24
#: The model each mode starts with, best first: whole photos get the blind model for real photos once it is bundled
#: (trained on real blur, noise and JPEG rather than the clean bicubic protocol), aligned crops the protocol model.
PREFERRED_MODELS = {MODE_ALIGNED: ("fast",), MODE_PHOTO: ("fast-real", "fast")}
#: Where the fidelity slider starts in each mode (0 = the model's GAN detail, 1 = its PSNR stage). Aligned crops get
#: the GAN model itself. Whole photos start at 0.25, chosen by eye on old photographs: it keeps the hair and eye
#: detail of 0 but calms the grain the GAN puts on the most degraded faces, where 0.5 is already soft
#: (docs/training-notes.md, "The fidelity slider").
DEFAULT_FIDELITY = {MODE_ALIGNED: 0.0, MODE_PHOTO: 0.25}

#: ``progress(fraction in [0, 1], what is happening)``: how long-running work reports where it is.
ProgressFn = Callable[[float, str], None]


def parse_scale(text: str | int) -> int:
    """``"x4"`` / ``"x2"`` / ``"x1"`` (or the integer itself) -> 4 / 2 / 1.

    Raises:
        ValueError: any other value.
    """
    if isinstance(text, int) and text in SCALES.values():
        return text
    if isinstance(text, str) and text.strip().lower() in SCALES:
        return SCALES[text.strip().lower()]
    raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {text!r}")


def default_model(mode: str, available: Sequence[str]) -> str | None:
    """The model ``mode`` starts with: the first of ``PREFERRED_MODELS[mode]`` that is available, else the first
    available model, else ``None``."""
    if mode not in PREFERRED_MODELS:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    for name in PREFERRED_MODELS[mode]:
        if name in available:
            return name
    return available[0] if available else None


def model_for_mode(mode: str, current: str | None, available: Sequence[str]) -> str | None:
    """The model to select when the user switches to ``mode``: that mode's default, unless the current model is
    one the user picked by hand (not some mode's default), which is kept."""
    defaults = {default_model(each, available) for each in MODES}
    if current in available and current not in defaults:
        return current
    return default_model(mode, available)


@dataclass(frozen=True)
class UpscaleOptions:
    """How to upscale one image (the UI's controls).

    Args:
        model: catalog name of the face model (``"fast"``, ``"owner/repo@v1"``, ...).
        mode: ``"Aligned face"`` (the image is one face crop) or ``"Whole photo"`` (detect, restore, paste back).
        fidelity: 0 = the model itself (GAN detail), 1 = its PSNR stage (smoothest); blended in between.
        native: aligned mode: centre-crop to a square and resize to 64x64 (the training input) first;
            otherwise the crop is upscaled 4x at its own size.
        compare: how the "before" image is enlarged to the output size: ``"bicubic"`` or ``"nearest"``.
        background: whole-photo mode at x4: ``"bicubic"`` or ``"fast"`` (the fast generator, tiled). At x2 the
            background is enlarged bicubically, at x1 it is kept as it is.
        scale: whole-photo output scale, 4, 2 or 1 (aligned faces are always 4x).
        min_face: whole-photo mode: faces with a smaller detection box (pixels) are not restored.
        tile: LR pixels per tile for large inputs (``None``: whole image at once).
        max_pixels: refuse inputs with more pixels than this at x4 (and in aligned mode).
        max_photo_pixels: refuse whole photos with more pixels than this at x2 and x1.
    """

    model: str
    mode: str = MODE_ALIGNED
    fidelity: float = 0.0
    native: bool = True
    compare: str = "bicubic"
    background: str = "bicubic"
    scale: int = 4
    min_face: int = DEFAULT_MIN_FACE
    tile: int | None = 256
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_photo_pixels: int = DEFAULT_MAX_PHOTO_PIXELS

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("choose a model")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.fidelity <= 1.0:
            raise ValueError(f"fidelity must be between 0 and 1, got {self.fidelity}")
        if self.compare not in COMPARE_MODES:
            raise ValueError(f"compare must be one of {COMPARE_MODES}, got {self.compare!r}")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS}, got {self.background!r}")
        if self.scale not in SCALES.values():
            raise ValueError(f"scale must be one of {sorted(SCALES.values())}, got {self.scale!r}")
        if self.min_face < 0:
            raise ValueError(f"min_face must be >= 0 pixels, got {self.min_face}")
        if self.tile is not None and self.tile < 16:
            raise ValueError(f"tile must be >= 16 LR pixels or None, got {self.tile}")
        if self.max_pixels < 1 or self.max_photo_pixels < 1:
            raise ValueError(f"pixel limits must be >= 1, got {self.max_pixels} and {self.max_photo_pixels}")

    @property
    def output_scale(self) -> int:
        """How much larger the output is than the input: ``scale`` for whole photos, 4 for aligned faces."""
        return self.scale if self.mode == MODE_PHOTO else 4

    @property
    def input_limit(self) -> int:
        """Largest input accepted for this request, in pixels (the x4 limit, or the larger x2/x1 one)."""
        if self.output_scale == 4:
            return self.max_pixels
        return max(self.max_pixels, self.max_photo_pixels)
