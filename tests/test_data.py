"""The data layer: THE LR/HR protocol, layouts and splits, the HR cache, the crop sampler, bad data."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facesr_hub.data import (
    HR_SIZE,
    IMAGE_EXTENSIONS,
    SCALE,
    FaceDataset,
    HRImageCache,
    collect_images,
    degrade,
    detect_layout,
    discover_images,
    hash_split,
    hr_to_float,
    iter_hr_batches,
    list_files_hash,
    pil_to_uint8,
    pixel_hash,
    prepare_hr,
    random_hr_batch,
    source_image_weights,
    to_hr,
    flatten_to_rgb,
)
from paths import CELEBA

CELEBA_JPEGS = CELEBA / "img_align_celeba" / "img_align_celeba"
# Names whose SHA-1 split is pinned below: one per split for the plain-folder fixture.
FOLDER_NAMES = {"img_0.png": "train", "img_23.png": "val", "img_44.png": "test"}


def _random_image(size: tuple[int, int], seed: int, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels).convert(mode)


@pytest.fixture
def kaggle_root(tmp_path: Path) -> Path:
    """Kaggle CelebA layout with three real JPEGs (one per partition) and a CSV row for a missing file."""
    root = tmp_path / "celeba"
    images = root / "img_align_celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    rows = [("000002.jpg", 0), ("000058.jpg", 0), ("999999.jpg", 0)]  # 999999.jpg is not on disk
    rows += [(name, partition) for name, partition in _first_of_each_partition((1, 2))]
    for name, _ in rows:
        if name != "999999.jpg":
            shutil.copy(CELEBA_JPEGS / name, images / name)
    lines = ["image_id,partition"] + [f"{name},{partition}" for name, partition in rows]
    (root / "list_eval_partition.csv").write_text("\n".join(lines) + "\n")
    return root


def _first_of_each_partition(partitions: tuple[int, ...]) -> list[tuple[str, int]]:
    found: dict[int, str] = {}
    for line in (CELEBA / "list_eval_partition.csv").read_text().splitlines()[1:]:
        name, partition = line.split(",")
        found.setdefault(int(partition), name)
    return [(found[p], p) for p in partitions]


@pytest.fixture
def torchvision_root(tmp_path: Path) -> Path:
    """torchvision.datasets.CelebA layout (root/celeba/...), generated 178x218 images, space-separated txt."""
    base = tmp_path / "tv" / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    for i, partition in enumerate([0, 0, 1, 2], start=1):
        _random_image((178, 218), i).save(base / "img_align_celeba" / f"{i:06d}.jpg")
    lines = [f"{i:06d}.jpg {p}" for i, p in enumerate([0, 0, 1, 2], start=1)]
    (base / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "tv"


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    """A plain folder: images at two depths, odd sizes and extensions, plus files that must be ignored."""
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    for i, name in enumerate(FOLDER_NAMES):
        _random_image((60, 40), 10 + i).save(root / name)
    _random_image((32, 48), 20).save(root / "sub" / "deep.JPG")
    _random_image((40, 40), 21).save(root / "sub" / "x.webp")
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden.png").write_bytes(b"macOS resource fork")
    return root


# ---------------------------------------------------------------- degrade


def test_degrade_shape_dtype_range_and_8bit_quantisation():
    hr = torch.rand(2, 3, 64, 48, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2  # out of range too
    lr = degrade(hr)
    assert lr.shape == (2, 3, 16, 12) and lr.dtype == torch.float32
    assert lr.min() >= 0 and lr.max() <= 1
    assert torch.equal(lr * 255, (lr * 255).round())


def test_degrade_keeps_a_constant_image_constant():
    for level in (0, 77, 255):  # 8-bit HR levels, as every HR image from the cache is
        lr = degrade(torch.full((1, 3, 32, 32), level / 255))
        assert torch.equal(lr, torch.full_like(lr, level / 255))


def test_degrade_undoes_a_nearest_upsample_of_a_smooth_image():
    smooth = F.interpolate(torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(1)), size=(16, 16),
                           mode="bilinear", align_corners=False)
    smooth = (smooth * 255).round() / 255
    hr = smooth.repeat_interleave(SCALE, dim=2).repeat_interleave(SCALE, dim=3)
    assert (degrade(hr) - smooth).abs().mean() < 0.005


def test_degrade_matches_pil_antialiased_bicubic():
    hr = prepare_hr(CELEBA_JPEGS / "000002.jpg", celeba_aligned=True)
    lr = degrade(hr_to_float(hr)[None])[0]
    pil = Image.fromarray(hr.permute(1, 2, 0).numpy()).resize((HR_SIZE // 4,) * 2, Image.Resampling.BICUBIC)
    diff = (lr - hr_to_float(pil_to_uint8(pil))).abs() * 255
    assert diff.max() <= 2.01 and diff.mean() < 0.5


def test_degrade_keeps_half_precision_dtype():
    assert degrade(torch.rand(1, 3, 8, 8).half()).dtype == torch.float16


@pytest.mark.parametrize("bad", [torch.rand(3, 8, 8), torch.rand(1, 3, 10, 8), torch.rand(1, 3, 8, 6),
                                 torch.zeros(1, 3, 8, 8, dtype=torch.uint8)])
def test_degrade_refuses_bad_input(bad):
    with pytest.raises(ValueError):
        degrade(bad)


# ---------------------------------------------------------------- to_hr / image modes


def test_celeba_aligned_image_becomes_the_256_face_square():
    with Image.open(CELEBA_JPEGS / "000002.jpg") as image:
        hr = to_hr(image, celeba_aligned=True)
        expected = image.convert("RGB").crop((0, 20, 178, 198)).resize((256, 256), Image.Resampling.BICUBIC)
    assert hr.size == (HR_SIZE, HR_SIZE) and hr.mode == "RGB"
    assert np.array_equal(np.asarray(hr), np.asarray(expected))


def test_celeba_aligned_refuses_other_sizes():
    with pytest.raises(ValueError, match="178x218"):
        to_hr(_random_image((200, 200), 0), celeba_aligned=True)


def test_other_images_are_centre_cropped_to_a_square():
    image = Image.new("RGB", (300, 100), (255, 0, 0))
    image.paste((0, 255, 0), (100, 0, 200, 100))  # only the centre square is green
    hr = np.asarray(to_hr(image, celeba_aligned=False))
    assert hr.shape == (256, 256, 3) and (hr == (0, 255, 0)).all()


def test_a_256_square_passes_unchanged():
    image = _random_image((256, 256), 3)
    assert np.array_equal(np.asarray(to_hr(image, celeba_aligned=False)), np.asarray(image))


@pytest.mark.parametrize("mode", ["L", "RGBA", "LA", "P", "CMYK", "1", "YCbCr", "I", "F"])
def test_any_mode_becomes_rgb(mode):
    hr = to_hr(_random_image((50, 70), 4, mode), celeba_aligned=False)
    assert hr.mode == "RGB" and hr.size == (HR_SIZE, HR_SIZE)


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    assert np.asarray(flatten_to_rgb(image)).min() == 255
    palette = Image.new("P", (8, 8), 0)
    palette.info["transparency"] = 0
    assert np.asarray(flatten_to_rgb(palette)).min() == 255


def test_sixteen_bit_greyscale_is_rescaled_not_clipped(tmp_path: Path):
    Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.uint16)).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as image:
        assert image.mode.startswith("I")
        assert np.asarray(flatten_to_rgb(image))[0, :, 0].tolist() == [0, 128, 255]


def test_exif_rotation_is_applied(tmp_path: Path):
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    with Image.open(tmp_path / "rotated.jpg") as opened:
        upright = flatten_to_rgb(opened)
    assert upright.size == (20, 40)
    top, bottom = np.asarray(upright)[5, 10], np.asarray(upright)[35, 10]
    assert top[0] > 200 and bottom[2] > 200  # the red half is on top once upright


def test_prepare_hr_path_and_image_agree():
    from_path = prepare_hr(CELEBA_JPEGS / "000058.jpg", celeba_aligned=True)
    with Image.open(CELEBA_JPEGS / "000058.jpg") as image:
        from_image = prepare_hr(image, celeba_aligned=True)
    assert from_path.shape == (3, HR_SIZE, HR_SIZE) and from_path.dtype == torch.uint8
    assert torch.equal(from_path, from_image)


# ---------------------------------------------------------------- layouts, discovery, splits


def test_kaggle_celeba_layout_uses_the_official_partition_and_skips_missing_files(kaggle_root, caplog):
    assert detect_layout(kaggle_root) == "celeba-kaggle"
    with caplog.at_level(logging.WARNING):
        records = discover_images(kaggle_root)
    assert "1 files" in caplog.text
    assert Counter(r.split for r in records) == {"train": 2, "val": 1, "test": 1}
    assert all(r.celeba_aligned and r.path.is_file() for r in records)
    assert records[0].name == "000002.jpg"
    assert [r.split for r in discover_images(kaggle_root, split="val")] == ["val"]


def test_torchvision_celeba_layout(torchvision_root):
    for root in (torchvision_root, torchvision_root / "celeba"):
        assert detect_layout(root) == "celeba-torchvision"
        records = discover_images(root)
        assert [r.split for r in records] == ["train", "train", "val", "test"]
        assert all(r.celeba_aligned for r in records)
        assert [r.name for r in records] == [f"{i:06d}.jpg" for i in range(1, 5)]  # same names as Kaggle's


def test_folder_layout_is_recursive_and_ignores_non_images(folder_root):
    assert detect_layout(folder_root) == "folder"
    records = discover_images(folder_root)
    assert [r.name for r in records] == ["img_0.png", "img_23.png", "img_44.png", "sub/deep.JPG", "sub/x.webp"]
    assert not any(r.celeba_aligned for r in records)
    assert {r.name: r.split for r in records if r.name in FOLDER_NAMES} == FOLDER_NAMES


def test_hash_split_is_pinned_and_by_file_name_only():
    # Pinned values: a change here would silently move images between train and test.
    assert {n: hash_split(n) for n in FOLDER_NAMES} == FOLDER_NAMES
    assert hash_split("000001.jpg") == "train" and hash_split("img_60.png") == "test"
    assert hash_split("a/b/img_44.png") == hash_split("img_44.png")


def test_hash_split_fractions_are_about_90_5_5():
    counts = Counter(hash_split(f"face_{i}.jpg") for i in range(20_000))
    assert abs(counts["train"] / 20_000 - 0.90) < 0.01
    assert abs(counts["val"] / 20_000 - 0.05) < 0.01 and abs(counts["test"] / 20_000 - 0.05) < 0.01


def test_splits_are_disjoint_and_independent_of_file_order(tmp_path: Path):
    names = [f"face_{i}.png" for i in range(60)]
    forward, backward = tmp_path / "forward", tmp_path / "backward"
    for folder, order in ((forward, names), (backward, names[::-1])):
        folder.mkdir()
        for name in order:
            (folder / name).write_bytes(b"")  # discovery does not decode
    splits = {s: {r.name for r in discover_images(forward, split=s)} for s in ("train", "val", "test")}
    assert splits["train"] and splits["val"] and splits["test"]
    assert sum(map(len, splits.values())) == 60 and set().union(*splits.values()) == set(names)
    assert [(r.name, r.split) for r in discover_images(forward)] == \
           [(r.name, r.split) for r in discover_images(backward)]


def test_collect_images_mixes_roots_and_limits_deterministically(kaggle_root, folder_root):
    mixed = collect_images([kaggle_root, folder_root], "train")
    assert len(mixed) == 2 + sum(1 for r in discover_images(folder_root) if r.split == "train")
    limited = collect_images([kaggle_root, folder_root], "train", limit=3)
    assert len(limited) == 3 and limited == collect_images([kaggle_root, folder_root], "train", limit=3)
    assert collect_images([kaggle_root, kaggle_root], "train") == collect_images(kaggle_root, "train")
    with pytest.raises(ValueError, match="limit"):
        collect_images(kaggle_root, "train", limit=0)


def test_list_files_hash_is_order_free_and_root_relative(folder_root):
    records = discover_images(folder_root)
    digest = list_files_hash(records)
    assert digest == list_files_hash(reversed(records))
    assert digest == list_files_hash([r.path for r in records], root=folder_root)
    assert digest != list_files_hash(records[:-1]) and len(digest) == 64


# ---------------------------------------------------------------- bad data


def test_missing_root_names_the_path(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        discover_images(tmp_path / "nowhere")


def test_empty_folder_names_the_path_and_extensions(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="empty") as error:
        discover_images(tmp_path / "empty")
    assert all(ext in str(error.value) for ext in IMAGE_EXTENSIONS)


def test_bad_split_name_is_refused(folder_root):
    with pytest.raises(ValueError, match="split"):
        discover_images(folder_root, split="valid")


def test_celeba_root_without_its_image_folder(tmp_path: Path):
    (tmp_path / "list_eval_partition.csv").write_text("image_id,partition\n000001.jpg,0\n")
    with pytest.raises(FileNotFoundError, match="img_align_celeba"):
        discover_images(tmp_path)


def test_malformed_partition_file(kaggle_root):
    (kaggle_root / "list_eval_partition.csv").write_text("image_id,partition\n000002.jpg,7\n")
    with pytest.raises(ValueError, match="list_eval_partition.csv:2"):
        discover_images(kaggle_root)


def test_corrupt_images_are_skipped_and_counted(folder_root, caplog):
    (folder_root / "img_0.png").write_bytes(b"\x89PNG not really")
    jpeg = (CELEBA_JPEGS / "000002.jpg").read_bytes()
    (folder_root / "sub" / "deep.JPG").write_bytes(jpeg[: len(jpeg) // 2])  # truncated mid-scan
    with caplog.at_level(logging.WARNING):
        cache = HRImageCache.from_roots(folder_root, None, num_workers=2)
    assert len(cache) == 3 and cache.skipped == 2
    assert cache.names == ("img_23.png", "img_44.png", "sub/x.webp")
    assert "img_0.png" in caplog.text and "deep.JPG" in caplog.text and "skipped 2 of 5" in caplog.text
    for record in discover_images(folder_root):
        record.path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="could be decoded"):
        HRImageCache.from_roots(folder_root, None, num_workers=1)


# ---------------------------------------------------------------- cache, dataset, sampler


def test_cache_decodes_every_layout_to_uint8_hr(kaggle_root, torchvision_root, folder_root):
    serial = HRImageCache.from_roots([kaggle_root, torchvision_root, folder_root], None, num_workers=1)
    threaded = HRImageCache.from_roots([kaggle_root, torchvision_root, folder_root], None, num_workers=2)
    assert serial.images.shape == (13, 3, HR_SIZE, HR_SIZE) and serial.images.dtype == torch.uint8
    assert torch.equal(serial.images, threaded.images) and serial.names == threaded.names
    assert serial.skipped == 0 and serial.to("cpu").images.device.type == "cpu"
    first = prepare_hr(kaggle_root / "img_align_celeba" / "img_align_celeba" / serial.names[0], celeba_aligned=True)
    assert torch.equal(serial.images[0], first)


def test_pixel_hash_finds_identical_images():
    a = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    assert pixel_hash(a) == pixel_hash(a.clone()) != pixel_hash(a.flip(-1))
    assert pixel_hash(a) != pixel_hash(a.reshape(3, 8, 32))
    with pytest.raises(ValueError):
        pixel_hash(a.float())


def test_face_dataset_returns_hr_and_survives_a_bad_file(folder_root, kaggle_root, caplog):
    dataset = FaceDataset([folder_root, kaggle_root], split=None)
    assert len(dataset) == 9 and dataset[0].shape == (3, HR_SIZE, HR_SIZE) and dataset[0].dtype == torch.uint8
    (folder_root / "img_0.png").write_bytes(b"broken")
    with caplog.at_level(logging.WARNING):
        replaced = dataset[0]
    assert torch.equal(replaced, dataset[1]) and dataset.skipped == 1
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=4)))
    assert batch.shape == (4, 3, HR_SIZE, HR_SIZE)


def _position_coded_images(count: int = 5, size: int = 64) -> torch.Tensor:
    """Channel 0 = row, channel 1 = column, channel 2 = image index: a crop shows where it came from."""
    rows = torch.arange(size).view(1, size, 1).expand(count, size, size)
    cols = torch.arange(size).view(1, 1, size).expand(count, size, size)
    index = torch.arange(count).view(count, 1, 1).expand(count, size, size)
    return torch.stack([rows, cols, index], dim=1).to(torch.uint8)


def test_random_hr_batch_takes_real_crops_and_flips():
    images = _position_coded_images()
    batch = random_hr_batch(images, 64, 16, generator=torch.Generator().manual_seed(0))
    assert batch.shape == (64, 3, 16, 16) and batch.dtype == torch.float32
    assert batch.min() >= 0 and batch.max() <= 1
    codes = (batch * 255).round().long()
    row_steps = codes[:, 0, 1:, :] - codes[:, 0, :-1, :]
    col_steps = codes[:, 1, :, 1:] - codes[:, 1, :, :-1]
    assert (row_steps == 1).all()  # rows always top to bottom
    flipped = (col_steps == -1).flatten(1).all(1)
    assert (flipped | (col_steps == 1).flatten(1).all(1)).all()  # each crop is either flipped or not, wholly
    assert 10 < int(flipped.sum()) < 54
    assert (codes[:, 2] == codes[:, 2, :1, :1]).all()  # one source image per crop
    unflipped = random_hr_batch(images, 16, 16, generator=torch.Generator().manual_seed(0), flip=False)
    assert ((unflipped[:, 1, :, 1:] - unflipped[:, 1, :, :-1]) > 0).all()


def test_random_hr_batch_is_deterministic_per_seed():
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)

    def batch(seed: int) -> torch.Tensor:
        return random_hr_batch(images, 8, 16, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(batch(3), batch(3)) and not torch.equal(batch(3), batch(4))
    whole = random_hr_batch(images, 2, 32, generator=torch.Generator().manual_seed(0))
    assert whole.shape == (2, 3, 32, 32)
    assert degrade(batch(3)).shape == (8, 3, 4, 4)


def test_source_image_weights_give_each_source_its_share_whatever_its_size():
    origins = [0] * 90 + [1] * 10  # a big folder and a small one
    weights = source_image_weights(origins, [1.0, 1.0])
    assert weights.shape == (100,)
    assert float(weights[:90].sum()) == pytest.approx(float(weights[90:].sum()))  # half the draws each
    assert torch.equal(weights[:90], weights[:1].expand(90))  # uniform within a source
    images = _position_coded_images(count=100, size=16)
    batch = random_hr_batch(images, 4000, 16, generator=torch.Generator().manual_seed(0), image_weights=weights)
    from_small = ((batch[:, 2, 0, 0] * 255).round() >= 90).float().mean()
    assert 0.45 < float(from_small) < 0.55  # uniform by image would give 0.10
    only_small = source_image_weights(origins, [0.0, 3.0])
    batch = random_hr_batch(images, 200, 16, generator=torch.Generator().manual_seed(1), image_weights=only_small)
    assert ((batch[:, 2] * 255).round() >= 90).all()
    again = random_hr_batch(images, 200, 16, generator=torch.Generator().manual_seed(1), image_weights=only_small)
    assert torch.equal(batch, again)


@pytest.mark.parametrize("origins, weights, message", [
    ([0, 1], [1.0, -1.0], "must be >= 0"),
    ([0, 1], [0.0, 0.0], "positive sum"),
    ([0, 2], [1.0, 1.0], "must index the 2 sources"),
    ([0, 0], [1.0, 1.0], r"sources \[1\] have a positive weight but no images"),
])
def test_source_image_weights_refuse_bad_input(origins, weights, message):
    with pytest.raises(ValueError, match=message):
        source_image_weights(origins, weights)


def test_random_hr_batch_refuses_weights_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"image_weights must be \(2,\)"):
        random_hr_batch(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), 4, 16, image_weights=torch.ones(3))


@pytest.mark.parametrize("patch_size", [0, 14, 36])
def test_random_hr_batch_refuses_bad_patch_sizes(patch_size):
    with pytest.raises(ValueError, match="patch_size"):
        random_hr_batch(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), 4, patch_size)


def test_iter_hr_batches_covers_every_image_in_order():
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    batches = list(iter_hr_batches(images, 2, device="cpu"))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    assert torch.equal(torch.cat(batches), hr_to_float(images))
