"""Datasets and THE LR/HR protocol (HR 256x256 faces, LR = antialiased bicubic /4, 8-bit).

- ``protocol``: ``degrade`` (HR -> LR), ``to_hr`` / ``prepare_hr`` (photo -> HR), constants.
- ``sources``: layout detection (CelebA Kaggle / torchvision, plain folders), discovery, splits, list hashes.
- ``cache``: ``HRImageCache`` (decode once into a uint8 tensor), ``pixel_hash``.
- ``sampling``: ``random_hr_batch`` (crops + flips on device), ``iter_hr_batches`` (whole images).
- ``dataset``: ``FaceDataset`` (lazy torch Dataset).
"""

from .cache import HRImageCache, decode_record, pixel_hash
from .dataset import FaceDataset
from .protocol import (HR_SIZE, LR_SIZE, SCALE, degrade, flatten_to_rgb, hr_to_float, pil_to_uint8, prepare_hr,
                       resize_8bit, to_hr)
from .sampling import iter_hr_batches, random_hr_batch
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
    "HASH_SPLIT_FRACTIONS", "HR_SIZE", "IMAGE_EXTENSIONS", "LAYOUTS", "LR_SIZE", "SCALE", "SPLITS",
    "FaceDataset", "HRImageCache", "ImageRecord",
    "collect_images", "decode_record", "degrade", "detect_layout", "discover_images", "hash_split",
    "hr_to_float", "iter_hr_batches", "list_files_hash", "pil_to_uint8", "pixel_hash", "prepare_hr",
    "random_hr_batch", "resize_8bit", "to_hr", "flatten_to_rgb",
]
