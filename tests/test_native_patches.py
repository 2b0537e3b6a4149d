"""Native-resolution training data: HR patches come from the source's own pixels, never from an upsampled copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_hub.data import HRImageCache, collect_images, prepare_native, random_hr_batch, to_native
from paths import CELEBA

CELEBA_JPEGS = CELEBA / "img_align_celeba" / "img_align_celeba"


def _coordinate_image(width: int, height: int) -> Image.Image:
    """R = x, G = y, B = x+y (mod 256): every pixel says where it came from, so a resample cannot hide."""
    ys, xs = np.mgrid[0:height, 0:width]
    return Image.fromarray(np.stack([xs % 256, ys % 256, (xs + ys) % 256], -1).astype(np.uint8))


def test_a_178px_source_is_kept_at_its_own_size():
    with Image.open(sorted(CELEBA_JPEGS.iterdir())[0]) as photo:
        assert photo.size == (178, 218)
        native = to_native(photo)
        assert native.size == (178, 218)  # the protocol's to_hr would give 256x256
        assert np.array_equal(np.asarray(native), np.asarray(photo.convert("RGB")))


def test_large_sources_are_only_downscaled_to_the_hr_size_and_cropped():
    native = to_native(_coordinate_image(1024, 768))
    assert native.size == (256, 256)  # shorter side 768 -> 256 (width 341), then centre-cropped to 256
    assert to_native(_coordinate_image(300, 200)).size == (256, 200)  # shorter side fits: crop only


def test_native_patches_of_a_178px_source_are_unresampled_crops(tmp_path: Path):
    _coordinate_image(178, 218).save(tmp_path / "face.png")
    records = collect_images(tmp_path, None)
    cache = HRImageCache.from_records(records, native=True, num_workers=1)
    assert cache.sizes is not None and cache.sizes.tolist() == [[218, 178]]
    patches = random_hr_batch(cache.images, 64, 128, generator=torch.Generator().manual_seed(0), flip=False,
                              sizes=cache.sizes)
    pixels = (patches * 255).round().to(torch.int64)
    for patch in pixels:
        left, top = int(patch[0, 0, 0]), int(patch[1, 0, 0])
        # Every pixel is the source pixel at (top+i, left+j): no interpolation, no canvas padding read.
        expected = torch.from_numpy(np.asarray(_coordinate_image(178, 218))).permute(2, 0, 1)
        assert torch.equal(patch, expected[:, top:top + 128, left:left + 128].to(torch.int64))
        assert top + 128 <= 218 and left + 128 <= 178


def test_native_offsets_cover_the_whole_valid_area():
    images = torch.zeros(1, 3, 256, 256, dtype=torch.uint8)
    sizes = torch.tensor([[218, 178]])
    generator = torch.Generator().manual_seed(1)
    tops, lefts = set(), set()
    for _ in range(40):
        batch = random_hr_batch(images, 64, 128, generator=generator, sizes=sizes)
        assert batch.shape == (64, 3, 128, 128)
    # Re-draw the offsets the same way to check their range: a coordinate image in a 256 canvas.
    coords = torch.from_numpy(np.asarray(_coordinate_image(256, 256))).permute(2, 0, 1)[None].clone()
    for _ in range(20):
        batch = random_hr_batch(coords, 64, 128, generator=generator, flip=False, sizes=sizes)
        tops.update((batch[:, 1, 0, 0] * 255).round().int().tolist())
        lefts.update((batch[:, 0, 0, 0] * 255).round().int().tolist())
    assert max(tops) == 218 - 128 and min(tops) == 0
    assert max(lefts) == 178 - 128 and min(lefts) == 0


def test_patches_larger_than_the_smallest_native_image_are_refused():
    images = torch.zeros(2, 3, 256, 256, dtype=torch.uint8)
    with pytest.raises(ValueError, match="smallest image side"):
        random_hr_batch(images, 2, 192, sizes=torch.tensor([[256, 256], [218, 178]]))


def test_prepare_native_path_and_image_agree():
    path = sorted(CELEBA_JPEGS.iterdir())[1]
    with Image.open(path) as photo:
        assert torch.equal(prepare_native(path), prepare_native(photo))
