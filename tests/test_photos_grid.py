"""python -m facesr_hub.evaluation.photos: real photos' faces, restored through the whole-photo path, side by side."""

from __future__ import annotations

import numpy as np
import pytest
from paths import SHARED_DATA
from PIL import Image

from facesr_hub.evaluation.photos import CELL, LABEL_HEIGHT, face_upscaler, main, photos_grid

PHOTO = SHARED_DATA / "old-photos" / "1860Girls.jpg"


@pytest.mark.skipif(not PHOTO.is_file(), reason=f"needs {PHOTO}")
def test_each_face_gets_a_row_and_each_method_a_column_that_differs(tmp_path):
    methods = {"bicubic": face_upscaler("bicubic"), "fast-real": face_upscaler("fast-real")}
    grid = photos_grid([PHOTO], methods)
    rows = (grid.height - LABEL_HEIGHT) // CELL
    assert grid.width == 2 * CELL and rows >= 2 and grid.height == LABEL_HEIGHT + rows * CELL
    cells = np.asarray(grid, dtype=np.float32)[LABEL_HEIGHT:]
    bicubic, model = cells[:, :CELL], cells[:, CELL:]
    assert np.abs(bicubic - model).mean() > 1.0  # the model restored the faces; the background is shared
    assert np.abs(bicubic - model).mean() < 40.0  # ... the same faces, in the same places


def test_a_folder_without_faces_is_refused_clearly(tmp_path, capsys):
    Image.new("RGB", (200, 150), (120, 130, 140)).save(tmp_path / "wall.png")
    with pytest.raises(SystemExit):
        main([str(tmp_path), "--method", "bicubic", "--out", str(tmp_path / "grid.png")])
    assert "no face of at least 24 px" in capsys.readouterr().err
    assert not (tmp_path / "grid.png").exists()
