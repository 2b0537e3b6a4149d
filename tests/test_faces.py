"""Whole-photo face pipeline: detection, alignment to the training crop, paste-back (real dlib models, CPU)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from facesr_hub.faces import (TEMPLATE_256, DetectedFace, FaceDetector, align_face, apply_affine,
                              estimate_similarity, restore_faces, template_for)
from paths import SHARED_DATA

DATA = SHARED_DATA
CELEBA = DATA / "celeba" / "img_align_celeba" / "img_align_celeba"
CELEBA_HQ = DATA / "celeba-hq-256"


def bicubic4x(image: Image.Image) -> Image.Image:
    return image.resize((image.width * 4, image.height * 4), Image.BICUBIC)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def gradient(width: int, height: int) -> Image.Image:
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([xx / width * 200 + 30, yy / height * 180 + 40, np.full_like(xx, 120)], -1)
    return Image.fromarray(rgb.astype(np.uint8))


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def faces_hq(tmp_path_factory) -> list[Image.Image]:
    folder = tmp_path_factory.mktemp("faces")
    images = []
    for name in ("00001.png", "00003.png"):
        shutil.copy(CELEBA_HQ / name, folder / name)
        images.append(Image.open(folder / name).convert("RGB"))
    return images


@pytest.fixture(scope="module")
def collage(faces_hq) -> Image.Image:
    """A 240x150 photo: a 100 px and a 65 px portrait (face boxes ~53 and ~37 px) on a gradient, built at 2x."""
    photo = gradient(480, 300)
    photo.paste(faces_hq[0].resize((200, 200), Image.BICUBIC), (20, 40))
    photo.paste(faces_hq[1].resize((130, 130), Image.BICUBIC), (300, 120))
    return photo.resize((240, 150), Image.BICUBIC)


def test_template_agrees_with_a_fresh_celeba_measurement(detector, tmp_path):
    """Re-measure the hard-coded template on 40 other CelebA images, prepared like the training crops."""
    points = []
    for path in sorted(CELEBA.iterdir())[3::150]:
        shutil.copy(path, tmp_path / path.name)
        image = Image.open(tmp_path / path.name).convert("RGB")
        top = (image.height - image.width) // 2
        hr = image.crop((0, top, image.width, top + image.width)).resize((256, 256), Image.BICUBIC)
        found = detector.detect(np.asarray(hr), upsample=0)
        if found:
            points.append(max(found, key=lambda face: face.score).landmarks)
    assert len(points) >= 35
    assert np.abs(np.mean(points, axis=0) - TEMPLATE_256).max() < 2.5


def test_estimate_similarity_recovers_a_known_transform():
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    truth = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    src = np.random.default_rng(0).uniform(0, 100, (5, 2))
    matrix = estimate_similarity(src, src @ truth.T + shift)
    np.testing.assert_allclose(matrix, np.hstack([truth, shift[:, None]]), atol=1e-9)


def test_detects_both_faces_and_aligns_them_like_the_template(detector, collage):
    faces = detector.detect(np.asarray(collage), upsample=1)
    assert len(faces) == 2
    assert faces[0].box[0] < faces[1].box[0]  # left to right
    for face in faces:
        assert face.landmarks.shape == (5, 2)
        assert isinstance(face.score, float)
        assert align_face(collage, face.landmarks, crop_size=64).image.size == (64, 64)
        # Independent check of the warp: detect again in a 256 crop, landmarks must land on the template.
        aligned = align_face(collage, face.landmarks, crop_size=256)
        again = detector.detect(np.asarray(aligned.image), upsample=0)
        assert len(again) == 1
        assert np.abs(again[0].landmarks - TEMPLATE_256).mean() < 3.0
        assert np.abs(apply_affine(aligned.matrix, face.landmarks) - template_for(256)).mean() < 3.0


def test_restore_faces_pastes_each_face_where_it_belongs(detector, collage):
    result = restore_faces(collage, bicubic4x, bicubic4x, detector=detector, face_size=64)
    assert result.num_faces == 2
    assert result.image.size == (960, 600) and result.image.mode == "RGB"
    for lr, sr in result.faces:
        assert lr.size == (64, 64) and sr.size == (256, 256)
    # Bicubic face through align -> 4x -> inverse warp must match a plain bicubic 4x of the photo; a paste a
    # few pixels off would not (the shifted comparison shows how far that drops).
    out, ref = np.asarray(result.image), np.asarray(bicubic4x(collage))
    for face in result.detections:
        left, top, right, bottom = (int(v * 4) for v in face.box)
        assert psnr(out[top:bottom, left:right], ref[top:bottom, left:right]) > 28
        assert psnr(ref[top:bottom, left + 16:right + 16], ref[top:bottom, left:right]) < 20


def test_no_face_gives_zero_faces_and_the_upscaled_background(detector):
    noise = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    for photo in (Image.fromarray(noise), gradient(120, 90)):
        result = restore_faces(photo, bicubic4x, bicubic4x, detector=detector)
        assert result.num_faces == 0 and result.faces == []
        assert np.array_equal(np.asarray(result.image), np.asarray(bicubic4x(photo)))


def test_face_cut_by_the_image_edge(detector, faces_hq):
    photo = Image.new("RGB", (220, 160), (90, 120, 150))
    photo.paste(faces_hq[0].resize((128, 128), Image.BICUBIC), (-40, 16))
    result = restore_faces(photo, bicubic4x, bicubic4x, detector=detector)
    assert result.num_faces == 1
    assert result.detections[0].box[0] < 0  # the box really sticks out of the photo
    left, top, right, bottom = (int(v * 4) for v in result.detections[0].box)
    out, ref = np.asarray(result.image), np.asarray(bicubic4x(photo))
    assert psnr(out[top:bottom, :right], ref[top:bottom, :right]) > 28


def test_tiny_and_outside_faces_are_padded_not_crashing(collage):
    """Given landmarks (bypassing the detector): a 4 px face, and one mostly outside the photo."""
    tiny = DetectedFace(box=(10, 10, 14, 14), landmarks=template_for(4) + 10, score=0.0)
    outside = DetectedFace(box=(-50, -40, 30, 40), landmarks=template_for(80) - 50, score=0.0)
    result = restore_faces(collage, bicubic4x, bicubic4x, detections=[tiny, outside], face_size=32)
    assert result.num_faces == 2 and result.image.size == (960, 600)
    assert all(lr.size == (32, 32) and sr.size == (128, 128) for lr, sr in result.faces)
    # far from both faces nothing changed
    assert np.array_equal(np.asarray(result.image)[400:, 400:], np.asarray(bicubic4x(collage))[400:, 400:])


def test_max_faces_keeps_the_largest(detector, collage):
    result = restore_faces(collage, bicubic4x, bicubic4x, detector=detector, max_faces=1)
    assert result.num_faces == 1 and result.detections[0].size > 45  # boxes are ~53 and ~37 px


def test_bad_inputs_raise(detector, collage):
    with pytest.raises(ValueError, match="upscale_face"):
        restore_faces(collage, lambda im: im, bicubic4x, detector=detector)
    with pytest.raises(ValueError, match="exactly one"):
        restore_faces(collage, bicubic4x, bicubic4x)
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="RGB"):
        restore_faces(collage.convert("RGBA"), bicubic4x, bicubic4x, detector=detector)


def bicubic2x(image: Image.Image) -> Image.Image:
    return image.resize((image.width * 2, image.height * 2), Image.BICUBIC)


def keep_size(image: Image.Image) -> Image.Image:
    return image


@pytest.mark.parametrize(("scale", "background"), [(1, keep_size), (2, bicubic2x)])
def test_faces_restored_at_4x_are_pasted_back_at_x1_and_x2(detector, collage, scale, background):
    """The face model works at 4x, the output is the photo at x1 or x2: each face lands where it was."""
    result = restore_faces(collage, bicubic4x, background, detector=detector, face_size=64, scale=scale,
                           face_scale=4)

    assert result.num_faces == 2 and result.image.size == (240 * scale, 150 * scale)
    assert all(sr.size == (256, 256) for _, sr in result.faces)  # the model's own 4x, not the output's scale
    out, ref = np.asarray(result.image), np.asarray(background(collage))
    for face in result.detections:
        left, top, right, bottom = (round(v * scale) for v in face.box)
        assert psnr(out[top:bottom, left:right], ref[top:bottom, left:right]) > 28
        assert not np.array_equal(out[top:bottom, left:right], ref[top:bottom, left:right])  # really pasted
    assert np.array_equal(out[:8 * scale], ref[:8 * scale])  # far from the faces nothing changed
    if scale == 1:
        assert result.image is not collage and np.array_equal(np.asarray(keep_size(collage)), ref)


def colour_cast(image: Image.Image) -> Image.Image:
    """A face model whose colours are off (as InstanceNorm + Tanh generators are): bicubic 4x plus a cast."""
    cast = np.asarray(bicubic4x(image), dtype=np.int16) + np.array([30, -20, 25], dtype=np.int16)
    return Image.fromarray(np.clip(cast, 0, 255).astype(np.uint8))


def mask_bands(alpha: np.ndarray, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Pixels just inside the opaque part of a paste mask, and just outside its support, ``width`` px deep."""
    from PIL import ImageFilter

    def grow(mask: np.ndarray) -> np.ndarray:
        image = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * width + 1))
        return np.asarray(image) > 0

    inside, support = alpha >= 0.98, alpha > 0.02
    return inside & grow(~inside), ~support & grow(support)


@pytest.mark.parametrize("scale", [4, 2])
def test_paste_back_matches_colour_so_no_box_shows_around_the_face(detector, scale, tmp_path):
    """Mean colour just inside vs just outside the face mask: the same step as in the plain photo."""
    from facesr_hub.faces import canvas_to_crop, warp_face

    shutil.copy(CELEBA / "000058.jpg", tmp_path / "photo.jpg")
    photo = Image.open(tmp_path / "photo.jpg").convert("RGB")
    background = bicubic4x if scale == 4 else bicubic2x
    plain = np.asarray(background(photo), dtype=np.float64)

    def seam(colour_match: bool) -> float:
        result = restore_faces(photo, colour_cast, background, detector=detector, scale=scale, face_scale=4,
                               colour_match=colour_match)
        assert result.num_faces == 1
        aligned = align_face(photo, result.detections[0].landmarks, crop_size=64)
        window = warp_face(Image.new("RGB", (256, 256)), canvas_to_crop(aligned.matrix, face_scale=4, scale=scale),
                           result.image.size)
        x0, y0, x1, y1 = window.box
        inner, outer = mask_bands(window.alpha)
        assert inner.sum() > 100 and outer.sum() > 100
        out = np.asarray(result.image, dtype=np.float64)[y0:y1, x0:x1]
        step = out[inner].mean(0) - out[outer].mean(0)
        reference_step = plain[y0:y1, x0:x1][inner].mean(0) - plain[y0:y1, x0:x1][outer].mean(0)
        return float(np.abs(step - reference_step).max())

    matched, unmatched = seam(colour_match=True), seam(colour_match=False)
    print(f"x{scale}: colour step across the mask edge {matched:.2f} levels matched, {unmatched:.2f} not")
    assert matched < 3.0 < 15.0 < unmatched
