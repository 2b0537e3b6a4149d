"""Datasets and THE LR/HR protocol (HR 256x256 faces, LR = antialiased bicubic /4, 8-bit).

- ``protocol``: ``degrade`` (HR -> LR), ``to_hr`` / ``prepare_hr`` (photo -> HR), constants.
- ``sources``: layout detection (CelebA Kaggle / torchvision, plain folders), discovery, splits, list hashes.
- ``degradations``: ``realistic_degrade`` (blur, resize, noise, JPEG; Real-ESRGAN-style), ``make_lr``, ``degrade_all``.
- ``native``: ``to_native`` / ``prepare_native`` (training sources at their own resolution, never upsampled).
- ``cache``: ``HRImageCache`` (decode once into a uint8 tensor; protocol HR or native), ``pixel_hash``.
- ``sampling``: ``random_hr_batch`` (crops + flips on device, optionally weighted by source via
  ``source_image_weights``), ``iter_hr_batches`` (whole images).
- ``dataset``: ``FaceDataset`` (lazy torch Dataset).
"""

from .cache import HRImageCache, decode_record, pixel_hash
from .dataset import FaceDataset
from .degradations import DEGRADATIONS, DegradationConfig, degrade_all, make_lr, realistic_degrade
from .native import prepare_native, to_native
from .protocol import (HR_SIZE, LR_SIZE, SCALE, degrade, flatten_to_rgb, hr_to_float, pil_to_uint8, prepare_hr,
                       resize_8bit, to_hr)
from .sampling import check_source_weights, iter_hr_batches, random_hr_batch, source_image_weights
from .sources import (
    HASH_SPLIT_FRACTIONS,
    IMAGE_EXTENSIONS,
    LAYOUTS,
    SPLITS,
    ImageRecord,
    collect_images,
    detect_layout,
    discover_images,
    hash_split,
    list_files_hash,
)

__all__ = [
    "DEGRADATIONS", "DegradationConfig", "degrade_all", "make_lr", "realistic_degrade",
    "HASH_SPLIT_FRACTIONS", "HR_SIZE", "IMAGE_EXTENSIONS", "LAYOUTS", "LR_SIZE", "SCALE", "SPLITS",
    "FaceDataset", "HRImageCache", "ImageRecord",
    "collect_images", "decode_record", "degrade", "detect_layout", "discover_images", "hash_split",
    "hr_to_float", "iter_hr_batches", "list_files_hash", "pil_to_uint8", "pixel_hash", "prepare_hr", "prepare_native",
    "to_native",
    "random_hr_batch", "source_image_weights", "check_source_weights", "resize_8bit", "to_hr", "flatten_to_rgb",
]
