"""upscale / upscale_tensor: tiling equals a whole-image pass, every input kind and image mode comes back as itself."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from facesr_hub import GENERATORS, FastGenerator
from facesr_hub.images import ImageReadError, ImageTooLargeError
from facesr_hub.inference import upscale, upscale_tensor

NUM_CONVS = 2  # receptive field radius NUM_CONVS + 2 = 4 LR pixels: an overlap of 4 makes tiling exact


@pytest.fixture(scope="module")
def model():
    """A tiny FastGenerator with random weights everywhere (it zero-inits its last conv, which is plain bicubic)."""
    torch.manual_seed(0)
    net = FastGenerator(num_features=8, num_convs=NUM_CONVS).eval()
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return net


@pytest.fixture(scope="module")
def bicubic_model():
    """As built, FastGenerator is exact bicubic: flat colours stay flat, so modes and orientation can be checked."""
    return FastGenerator(num_features=4, num_convs=1).eval()


def _bicubic(x):
    return F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)


# --- tiling -------------------------------------------------------------------------------------------------------

def test_model_is_not_bicubic_so_the_tiling_test_has_teeth(model):
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        assert (model(x) - _bicubic(x)).abs().mean() > 1e-2


@pytest.mark.parametrize("tile, batch_size", [(16, 3), (10, 4), (25, 1), (40, 2)])
def test_tiled_equals_untiled_on_a_non_square_batch(model, tile, batch_size):
    torch.manual_seed(1)
    x = torch.rand(2, 3, 37, 53)
    with torch.no_grad():
        reference = model(x).clamp(0, 1)
    whole = upscale_tensor(model, x, tile=None)
    tiled = upscale_tensor(model, x, tile=tile, tile_overlap=NUM_CONVS + 2, batch_size=batch_size)
    assert whole.shape == tiled.shape == (2, 3, 148, 212)
    assert (whole - reference).abs().max() < 1e-5
    assert (tiled - whole).abs().max() < 1e-4


def test_too_small_an_overlap_shows_seams(model):
    x = torch.rand(1, 3, 37, 53)
    whole = upscale_tensor(model, x, tile=None)
    assert (upscale_tensor(model, x, tile=16, tile_overlap=1) - whole).abs().max() > 1e-3


def test_output_is_clamped_and_a_normal_tensor(model):
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        raw = model(x)
    assert raw.min() < 0 or raw.max() > 1  # otherwise the clamp is untested
    out = upscale_tensor(model, x)
    assert out.min() >= 0 and out.max() <= 1
    assert not out.is_inference()
    out.mul_(2)  # callers may modify it in place


def test_input_is_cast_to_the_model_dtype(model):
    x = torch.rand(1, 3, 9, 7)
    expected = upscale_tensor(model, x)
    out = upscale_tensor(model.to(torch.float64), x)
    model.to(torch.float32)
    assert out.dtype == torch.float32
    assert (out - expected).abs().max() < 1e-5


@pytest.mark.parametrize("options", [dict(tile=0), dict(tile_overlap=-1), dict(batch_size=0)])
def test_invalid_tiling_options(model, options):
    with pytest.raises(ValueError):
        upscale_tensor(model, torch.rand(1, 3, 4, 4), **options)


def test_upscale_tensor_refuses_other_shapes(model):
    for bad in (torch.rand(3, 4, 4), torch.rand(1, 4, 4, 4), torch.zeros(1, 3, 0, 4)):
        with pytest.raises(ValueError):
            upscale_tensor(model, bad)


# --- input kinds --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3), (5, 7, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_numpy_in_numpy_out(bicubic_model, shape, dtype):
    scale = 255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1
    array = (np.full(shape, 0.4) * scale).astype(dtype)
    out = upscale(bicubic_model, array)
    assert out.dtype == array.dtype and out.shape == (20, 28, *shape[2:])
    np.testing.assert_allclose(out.astype(np.float64), array.flat[0], atol=1.01 if scale > 1 else 1e-5)


def test_tensor_in_tensor_out(model):
    x = torch.rand(2, 3, 6, 5)
    batch = upscale(model, x)
    assert batch.shape == (2, 3, 24, 20) and batch.dtype == torch.float32
    single = upscale(model, x[1])
    assert single.shape == (3, 24, 20)
    assert torch.allclose(single, batch[1], atol=1e-6)
    assert torch.allclose(batch, upscale_tensor(model, x))
    assert upscale(model, x.double()).dtype == torch.float64
    assert upscale(model, x.to(torch.bfloat16)).dtype == torch.bfloat16
    as_bytes = upscale(model, (x[0] * 255).round().to(torch.uint8))
    assert as_bytes.dtype == torch.uint8 and as_bytes.shape == (3, 24, 20)


def test_one_pixel_gives_four_by_four(model):
    assert upscale(model, Image.new("RGB", (1, 1), (9, 99, 199))).size == (4, 4)
    assert upscale(model, np.zeros((1, 1, 3), np.uint8)).shape == (4, 4, 3)


def test_unsupported_inputs(model):
    with pytest.raises(TypeError):
        upscale(model, [[0, 1]])
    with pytest.raises(ValueError):
        upscale(model, np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError):
        upscale(model, torch.zeros(2, 5, 4, 4))
    with pytest.raises(ValueError):
        upscale(model, np.zeros((0, 4), np.uint8))


# --- PIL modes ----------------------------------------------------------------------------------------------------

def _palette(transparent: bool) -> Image.Image:
    image = Image.new("P", (6, 4), 0)
    image.putpalette([60, 120, 180] + [0] * 765)
    if transparent:
        image.info["transparency"] = 0
    return image


@pytest.mark.parametrize("image, mode, value", [
    (Image.new("L", (6, 4), 77), "L", 77),
    (Image.new("LA", (6, 4), (77, 200)), "LA", (77, 200)),
    (Image.new("RGB", (6, 4), (10, 120, 250)), "RGB", (10, 120, 250)),
    (Image.new("RGBA", (6, 4), (10, 120, 250, 30)), "RGBA", (10, 120, 250, 30)),
    (_palette(False), "RGB", (60, 120, 180)),
    (_palette(True), "RGBA", (60, 120, 180, 0)),
    (Image.new("CMYK", (6, 4), (0, 255, 0, 0)), "RGB", (255, 0, 255)),
    (Image.new("1", (6, 4), 1), "L", 255),
    (Image.fromarray(np.full((4, 6), 0.5, np.float32), mode="F"), "L", 128),
], ids=["L", "LA", "RGB", "RGBA", "P", "P-transparent", "CMYK", "1", "F"])
def test_pil_modes_keep_their_family(bicubic_model, image, mode, value):
    out = upscale(bicubic_model, image)
    assert out.mode == mode and out.size == (24, 16)
    assert out.getpixel((11, 7)) == value


def test_sixteen_bit_png_comes_back_as_grey(bicubic_model, tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 6), 100 * 257, np.uint16)).save(path)
    out = upscale(bicubic_model, path)
    assert out.mode == "L" and out.size == (24, 16) and out.getpixel((11, 7)) == 100


def test_rgba_alpha_is_upscaled_separately(model):
    image = Image.new("RGBA", (8, 6), (200, 30, 90, 255))
    image.paste((200, 30, 90, 0), (0, 0, 4, 6))  # left half fully transparent
    out = upscale(model, image)
    alpha = np.asarray(out.getchannel("A"))
    assert out.mode == "RGBA" and out.size == (32, 24)
    assert (alpha[:, :12] == 0).all() and (alpha[:, -12:] == 255).all()
    expected = F.interpolate(torch.tensor(np.asarray(image.getchannel("A")), dtype=torch.float32)[None, None] / 255,
                             scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)[0, 0] * 255
    assert np.abs(alpha - expected.round().numpy()).max() <= 1


def test_exif_rotated_jpeg_comes_out_upright(bicubic_model, tmp_path):
    stored = Image.new("RGB", (16, 8), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 8, 8))  # left half red; orientation 6 puts it on top
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    stored.save(path, exif=exif, quality=95)
    out = upscale(bicubic_model, path)
    assert out.size == (32, 64)
    top, bottom = out.getpixel((16, 8)), out.getpixel((16, 56))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def test_animated_gif_uses_its_first_frame(bicubic_model, tmp_path):
    frames = [Image.new("RGB", (6, 4), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = upscale(bicubic_model, path)
    assert out.size == (24, 16) and out.getpixel((11, 7)) == (255, 0, 0)


# --- limits -------------------------------------------------------------------------------------------------------

def test_pixel_limit_is_refused_for_every_kind(model, tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (40, 30)).save(path)
    inputs = [Image.new("RGB", (40, 30)), np.zeros((30, 40, 3), np.uint8), torch.zeros(2, 3, 30, 40), path]
    for image in inputs:
        with pytest.raises(ImageTooLargeError, match=r"40x30 \(1,200 pixels\) is above the limit of 1,000 pixels"):
            upscale(model, image, max_pixels=1000)
    assert upscale(model, inputs[0], max_pixels=1200).size == (160, 120)


def test_unreadable_path(model, tmp_path):
    path = tmp_path / "text.png"
    path.write_text("hello")
    with pytest.raises(ImageReadError, match="not an image"):
        upscale(model, path)


def test_weightless_module_runs_where_its_input_is():
    class Bicubic(torch.nn.Module):
        scale = 4

        def forward(self, x):
            return _bicubic(x)

    x = torch.rand(1, 3, 5, 6, dtype=torch.float64)
    out = upscale_tensor(Bicubic(), x, tile=3, tile_overlap=2)
    assert out.dtype == torch.float64 and out.shape == (1, 3, 20, 24)


def test_default_overlap_makes_tiling_exact_for_any_fast_depth():
    """The default overlap follows the model's receptive radius (32 here, beyond the fixed fallback of 24)."""
    torch.manual_seed(0)
    model = FastGenerator(num_features=8, num_convs=30).eval()
    with torch.no_grad():
        model.body[-2].weight.normal_(0, 0.05)
    assert model.receptive_radius == 32
    x = torch.rand(1, 3, 40, 44)
    whole = upscale_tensor(model, x, tile=None)
    assert (upscale_tensor(model, x, tile=12) - whole).abs().max() < 1e-4


FIXED_SEED = {"norm": "none", "output_activation": "none", "bicubic_skip": True}
RADIUS_CASES = [(name, {"num_blocks": 1} if name == "quality" else {}) for name in sorted(GENERATORS)] + [
    (name, FIXED_SEED) for name in ("upsample", "pixelshuffle-v1", "pixelshuffle-v2")]


@pytest.mark.parametrize(("name", "kwargs"), RADIUS_CASES)
def test_receptive_radius_is_stated_honestly(name, kwargs):
    """A finite radius must really bound what the output sees: changing pixels beyond it changes nothing nearby."""
    torch.manual_seed(0)
    model = GENERATORS[name](**kwargs).eval()
    radius = model.receptive_radius
    if radius is None:
        return  # whole-image layers: tiling falls back to DEFAULT_TILE_OVERLAP, documented as inexact
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    size = 2 * radius + 9
    x = torch.rand(1, 3, size, size)
    y = x.clone()
    y[..., :, radius + 5:] = torch.rand_like(y[..., :, radius + 5:])  # change everything right of column r+5
    with torch.inference_mode():
        a, b = model(x), model(y)
    # Output columns of LR column <= 4 see LR columns <= 4 + radius only.
    assert torch.allclose(a[..., : 4 * 5], b[..., : 4 * 5], atol=1e-5)
