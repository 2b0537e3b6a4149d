"""Monochrome photos: detected as such, and their restored faces keep the photo's own colour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facesr_hub.faces import FaceDetector, chroma_spread, is_monochrome, restore_faces, with_chroma_of
from paths import SHARED_DATA

CELEBA = SHARED_DATA / "celeba" / "img_align_celeba" / "img_align_celeba"


def colour_photo() -> Image.Image:
    return Image.open(CELEBA / "000058.jpg").convert("RGB")


def sepia(photo: Image.Image) -> Image.Image:
    """A toned print: one hue everywhere, its strength following brightness."""
    grey = np.asarray(photo.convert("L"), dtype=np.float32)[..., None] / 255
    return Image.fromarray(np.clip(255 * grey * np.array([1.07, 0.89, 0.66]), 0, 255).astype(np.uint8))


def blue_eyed(image: Image.Image) -> Image.Image:
    """A face model that draws colour where there was none: bicubic 4x, then a blue cast."""
    big = np.asarray(image.resize((image.width * 4, image.height * 4), Image.BICUBIC), dtype=np.int16)
    return Image.fromarray(np.clip(big + np.array([-25, 0, 40], dtype=np.int16), 0, 255).astype(np.uint8))


def test_grey_and_toned_photos_are_monochrome_and_colour_ones_are_not():
    photo = colour_photo()
    assert not is_monochrome(photo) and chroma_spread(photo) > 15
    assert is_monochrome(photo.convert("L").convert("RGB")) and chroma_spread(photo.convert("L").convert("RGB")) < 1
    assert is_monochrome(sepia(photo))
    assert is_monochrome(photo.convert("L"))


def test_chroma_transfer_keeps_the_face_luminance_and_the_photo_chroma():
    rng = np.random.default_rng(0)
    face, photo = (rng.uniform(0, 255, (8, 8, 3)).astype(np.float32) for _ in range(2))
    out = with_chroma_of(face, photo)
    ycc = lambda rgb: np.asarray(Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8)).convert("YCbCr"),
                                 dtype=np.float32)
    inside = (out >= 0).all(-1) & (out <= 255).all(-1)  # compare where no clipping happens on the way to uint8
    assert inside.sum() > 10
    assert np.abs(ycc(out)[..., 0] - ycc(face)[..., 0])[inside].max() <= 1.5
    assert np.abs(ycc(out)[..., 1:] - ycc(photo)[..., 1:])[inside].max() <= 1.5
    np.testing.assert_allclose(with_chroma_of(face, face), face, atol=1e-3)


@pytest.mark.parametrize("make_photo", [lambda p: p.convert("L").convert("RGB"), sepia], ids=["grey", "sepia"])
def test_a_monochrome_photo_is_not_coloured_by_the_face_model(make_photo):
    photo = make_photo(colour_photo())
    detector = FaceDetector()
    bicubic = np.asarray(photo.resize((photo.width * 4, photo.height * 4), Image.BICUBIC), dtype=np.float32)

    def chroma_error(result: Image.Image) -> float:
        """Worst chroma departure from the bicubic photo, in levels: the colour the face model added."""
        ycc = np.asarray(result.convert("YCbCr"), dtype=np.float32)
        reference = np.asarray(Image.fromarray(bicubic.astype(np.uint8)).convert("YCbCr"), dtype=np.float32)
        return float(np.abs(ycc[..., 1:] - reference[..., 1:]).max())

    default = restore_faces(photo, blue_eyed, lambda p: p.resize((p.width * 4, p.height * 4), Image.BICUBIC),
                            detector=detector)
    forced = restore_faces(photo, blue_eyed, lambda p: p.resize((p.width * 4, p.height * 4), Image.BICUBIC),
                           detector=detector, photo_chroma=False)
    assert default.num_faces == forced.num_faces == 1
    print(f"chroma added: {chroma_error(default.image):.1f} levels with the photo's chroma, "
          f"{chroma_error(forced.image):.1f} with the model's")
    assert chroma_error(default.image) <= 2.0 < 10.0 < chroma_error(forced.image)
    # only the colour is the photo's: the luminance (the restored detail) is the model's either way
    luma = lambda image: np.asarray(image.convert("L"), dtype=np.float32)
    assert np.abs(luma(default.image) - luma(forced.image)).max() <= 2.0


def test_a_colour_photo_keeps_the_models_colour_by_default():
    photo = colour_photo()
    result = restore_faces(photo, blue_eyed, lambda p: p.resize((p.width * 4, p.height * 4), Image.BICUBIC),
                           detector=FaceDetector(), colour_match=False)
    plain = restore_faces(photo, blue_eyed, lambda p: p.resize((p.width * 4, p.height * 4), Image.BICUBIC),
                          detector=FaceDetector(), colour_match=False, photo_chroma=False)
    assert np.array_equal(np.asarray(result.image), np.asarray(plain.image))
