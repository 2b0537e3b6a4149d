"""Tiny datasets and configs shared by the training tests (made at test time, never real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

TINY_ARCH_KWARGS = {"num_convs": 2, "num_features": 16}


def make_face_like(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A smooth random colour field with some texture: enough structure for a few SR steps."""
    ys, xs = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [np.sin(xs * rng.uniform(2, 9) + ys * rng.uniform(2, 9) + rng.uniform(0, 6)) for _ in range(3)]
    image = (np.stack(channels, -1) * 0.35 + 0.5 + rng.normal(0, 0.05, (height, width, 3))).clip(0, 1)
    return Image.fromarray((image * 255).astype(np.uint8))


def make_celeba(root: Path, *, n_train: int = 6, n_val: int = 2, seed: int = 0) -> Path:
    """A CelebA Kaggle-layout root: aligned 178x218 JPEGs and ``list_eval_partition.csv`` (official split)."""
    rng = np.random.default_rng(seed)
    images = root / "img_align_celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    rows = ["image_id,partition"]
    for i in range(n_train + n_val):
        name = f"{i + 1:06d}.jpg"
        make_face_like(rng, 178, 218).save(images / name, quality=95)
        rows.append(f"{name},{0 if i < n_train else 1}")
    (root / "list_eval_partition.csv").write_text("\n".join(rows) + "\n")
    return root


def tiny_args(data: Path, output: Path, *extra: str) -> list[str]:
    """train.py arguments for a tiny, fast run (a 2-conv, 16-feature FastGenerator, batch 2, patch 32)."""
    import json

    return ["--data", str(data), "--arch", "fast", "--arch-kwargs", json.dumps(TINY_ARCH_KWARGS),
            "--output-dir", str(output), "--batch-size", "2", "--patch-size", "32", "--warmup-steps", "2",
            "--log-every", "1", *extra]
