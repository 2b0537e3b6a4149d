"""Reading user images: clear errors, pixel limits, EXIF, animations, and every PIL mode to RGB + alpha."""

import numpy as np
import pytest
import torch
from PIL import Image

from facesr_hub.images import (DEFAULT_MAX_PIXELS, ImageReadError, ImageTooLargeError, array_to_tensor,
                               check_pixel_limit, load_image, pil_to_tensor, split_alpha, tensor_to_array,
                               tensor_to_pil)


def _noise(width, height, mode="RGB", seed=0):
    channels = len(mode)
    values = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(values[..., 0] if channels == 1 else values, mode=mode)


def _assert_one_line_error(excinfo, path, *words):
    message = str(excinfo.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    for word in words:
        assert word in message


# --- load_image: errors ------------------------------------------------------------------------------------------

def test_text_file_with_image_extension_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a JPEG\n")
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_one_line_error(excinfo, path, "not an image")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_one_line_error(excinfo, path, "empty file")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="is a directory"):
        load_image(tmp_path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt.lower()}"
    _noise(64, 48).save(path, format=fmt)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_one_line_error(excinfo, path, "corrupt or truncated")


def test_pixel_limit_is_checked_from_the_header_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    _noise(100, 80).save(path)
    path.write_bytes(path.read_bytes()[:64])  # header only: decoding it would fail
    with pytest.raises(ImageTooLargeError) as excinfo:
        load_image(path, max_pixels=1000)
    _assert_one_line_error(excinfo, path, "100x80", "8,000 pixels", "1,000 pixels")
    with pytest.raises(ImageReadError):  # within the limit, the truncation is what is reported
        load_image(path, max_pixels=10_000)


def test_default_limit_is_4096_squared():
    check_pixel_limit(4096, 4096, DEFAULT_MAX_PIXELS)
    with pytest.raises(ImageTooLargeError, match=r"4097x4096 .* limit of 16,777,216 pixels \(4096x4096\)"):
        check_pixel_limit(4097, 4096, DEFAULT_MAX_PIXELS)


# --- load_image: orientation, frames, sizes ---------------------------------------------------------------------

def test_exif_orientation_is_applied(tmp_path):
    stored = Image.new("RGB", (16, 8), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 8, 8))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the stored left side is the top
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif, quality=95)
    image = load_image(path)
    assert image.size == (8, 16)
    red, _, blue = image.getpixel((4, 2))
    assert red > 200 and blue < 60
    red, _, blue = image.getpixel((4, 13))
    assert blue > 200 and red < 60


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_gives_its_first_frame(tmp_path, fmt):
    frames = [Image.new("RGB", (10, 6), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))
    with Image.open(path) as check:
        assert getattr(check, "n_frames", 1) == 3
    image = load_image(path)
    assert image.size == (10, 6)
    assert split_alpha(image)[0].getpixel((5, 3)) == (255, 0, 0)


def test_one_pixel_image(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    assert load_image(path).getpixel((0, 0)) == (1, 2, 3)


# --- split_alpha and tensors: every mode -------------------------------------------------------------------------

def _palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (3, 2), 0)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((2, 1), 1)
    if transparent:
        image.info["transparency"] = 0
    return image


def _sixteen_bit_png(tmp_path) -> Image.Image:
    path = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 128 * 257, 65535]], dtype=np.uint16)).save(path)
    image = load_image(path)
    assert image.mode.startswith("I")  # I;16 (or I with older Pillow)
    return image


@pytest.mark.parametrize("make, rgb, alpha, channels", [
    (lambda p: Image.new("1", (3, 2), 1), (255, 255, 255), None, 1),
    (lambda p: Image.new("L", (3, 2), 100), (100, 100, 100), None, 1),
    (lambda p: Image.new("LA", (3, 2), (100, 50)), (100, 100, 100), 50, 2),
    (lambda p: Image.new("RGB", (3, 2), (10, 20, 30)), (10, 20, 30), None, 3),
    (lambda p: Image.new("RGBA", (3, 2), (10, 20, 30, 40)), (10, 20, 30), 40, 4),
    (lambda p: _palette_image(False), (10, 20, 30), None, 3),
    (lambda p: _palette_image(True), (10, 20, 30), 0, 4),
    (lambda p: Image.new("CMYK", (3, 2), (0, 255, 0, 0)), (255, 0, 255), None, 3),
    (lambda p: Image.new("YCbCr", (3, 2), (128, 128, 128)), (128, 128, 128), None, 3),
    (lambda p: Image.fromarray(np.full((2, 3), 128 * 257, dtype=np.int32), mode="I"), (128, 128, 128), None, 1),
    (lambda p: Image.fromarray(np.full((2, 3), 0.5, dtype=np.float32), mode="F"), (128, 128, 128), None, 1),
    (lambda p: Image.fromarray(np.full((2, 3), 127.6, dtype=np.float32), mode="F"), (128, 128, 128), None, 1),
], ids=["1", "L", "LA", "RGB", "RGBA", "P", "P-transparent", "CMYK", "YCbCr", "I", "F-unit", "F-255"])
def test_split_alpha_every_mode(tmp_path, make, rgb, alpha, channels):
    image = make(tmp_path)
    colour, mask = split_alpha(image)
    assert colour.mode == "RGB" and colour.size == image.size
    assert colour.getpixel((0, 0)) == rgb
    assert (mask is None) == (alpha is None)
    if alpha is not None:
        assert mask.mode == "L" and mask.getpixel((0, 0)) == alpha
    tensor = pil_to_tensor(image)
    assert tensor.shape == (channels, 2, 3) and tensor.dtype == torch.float32
    assert tensor.min() >= 0 and tensor.max() <= 1


def test_sixteen_bit_png_is_rescaled_not_clipped(tmp_path):
    colour, mask = split_alpha(_sixteen_bit_png(tmp_path))
    assert mask is None
    assert [colour.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_rgb_with_transparent_colour_key_gets_alpha():
    image = Image.new("RGB", (2, 1), (1, 2, 3))
    image.putpixel((1, 0), (9, 9, 9))
    image.info["transparency"] = (1, 2, 3)
    _, mask = split_alpha(image)
    assert [mask.getpixel((x, 0)) for x in range(2)] == [0, 255]


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_pil_tensor_round_trip(mode):
    image = _noise(5, 4, mode)
    back = tensor_to_pil(pil_to_tensor(image))
    assert back.mode == mode and np.array_equal(np.asarray(back), np.asarray(image))


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 1), (4, 5, 2), (4, 5, 3), (4, 5, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_array_tensor_round_trip(shape, dtype):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        array = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    else:
        array = rng.random(shape).astype(dtype)
    tensor = array_to_tensor(array)
    assert tensor.shape == ((shape[2] if len(shape) == 3 else 1), 4, 5)
    back = tensor_to_array(tensor, dtype=array.dtype, squeeze_channels=array.ndim == 2)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_allclose(back, array, atol=1e-6 if np.issubdtype(dtype, np.floating) else 0)


@pytest.mark.parametrize("array", [np.zeros((4, 5, 5), np.uint8), np.zeros((4,), np.uint8),
                                   np.zeros((4, 5), np.int64), np.zeros((4, 5), bool)],
                         ids=["5-channels", "1-d", "int64", "bool"])
def test_array_to_tensor_refuses_what_is_not_an_image(array):
    with pytest.raises(ValueError):
        array_to_tensor(array)


def test_big_endian_sixteen_bit_array():
    array = np.array([[0, 128 * 257, 65535]], dtype=">u2")
    tensor = array_to_tensor(array)
    assert torch.allclose(tensor[0, 0], torch.tensor([0, 128 * 257 / 65535, 1]))
    back = tensor_to_array(tensor, dtype=array.dtype, squeeze_channels=True)
    assert back.dtype == array.dtype and np.array_equal(back, array)
