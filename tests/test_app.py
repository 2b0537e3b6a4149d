"""The Gradio demo, driven over HTTP with gradio_client exactly as a user's script would (loopback only).

The app is launched once for the module on 127.0.0.1 with tiny random ``fast`` / ``fast-psnr`` models in a temporary
weights folder (``FACESR_WEIGHTS_DIR``), so requests take milliseconds; inputs are real faces copied from the shared
data. The service functions and the model registry are also tested directly.

Every one-image answer is a lossy preview pair for the slider (JPEG, WebP with alpha) and the full-size lossless
PNG behind the Download button; tests that check pixels read the PNG.
"""

from __future__ import annotations

import io
import socket
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from packaging.requirements import Requirement
from PIL import Image

from facesr_hub import FastGenerator
from facesr_hub.app.models import (
    EXPECTED_BUNDLED,
    ModelRegistry,
    ModelUnavailableError,
    discover_models,
    parse_model_specs,
)
from facesr_hub.app.options import default_model, model_for_mode, parse_scale
from facesr_hub.app.photo import SKIPPED_CROWD, SKIPPED_LARGE, SKIPPED_SMALL, choose_faces
from facesr_hub.app.server import ServerSettings, create_demo, launch, mcp_available, parse_settings
from facesr_hub.app.service import MODE_ALIGNED, MODE_PHOTO, UpscaleOptions, upscale_batch, upscale_file
from facesr_hub.faces import DetectedFace, template_for
from facesr_hub.images import ImageTooLargeError
from facesr_hub.app.ui import build_demo, status_markdown
from facesr_hub.data.protocol import degrade, hr_to_float, prepare_hr
from paths import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
DATA = SHARED_DATA
CELEBA_HQ = DATA / "celeba-hq-256"
CELEBA_PHOTO = DATA / "celeba" / "img_align_celeba" / "img_align_celeba" / "000002.jpg"
MAX_PIXELS = 300 * 300  # small, so that the over-the-limit case needs only a small file

# Gradio's queue calls pandas APIs that pandas 3 deprecates; not ours to fix, and noise in every request.
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")


def make_tiny_weights(folder: Path, names: tuple[str, ...] = ("fast", "fast-psnr")) -> Path:
    """``fast`` and ``fast-psnr`` (or ``names``): FastGenerator(num_convs=2), saved like bundled weights, slightly
    different from each other."""
    for seed, name in enumerate(names):
        torch.manual_seed(seed)
        model = FastGenerator(num_convs=2)
        with torch.no_grad():  # the last conv starts at zero (= bicubic); give it some weight so models differ
            model.body[-2].weight.normal_(0.0, 0.003)
        model.save_pretrained(folder / name)
    return folder


def real_face_lr(index: int) -> Image.Image:
    """A held-out 256x256 face taken to the 64x64 LR input by the protocol."""
    hr = hr_to_float(prepare_hr(CELEBA_HQ / f"{index:05d}.png", celeba_aligned=False))
    array = degrade(hr[None])[0].permute(1, 2, 0).mul(255).round().byte().numpy()
    return Image.fromarray(array)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_test_app(tmp: Path, monkeypatch: pytest.MonkeyPatch, *, max_pixels: int = MAX_PIXELS):
    """Launch the app as app.py does (same settings parser), on a free loopback port; returns (demo, url)."""
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(make_tiny_weights(tmp / "weights")))
    monkeypatch.delenv("FACESR_MODELS", raising=False)
    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(tmp / "examples-cache"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    settings = parse_settings(["--host", "127.0.0.1", "--port", str(free_port()), "--no-browser", "--device", "cpu",
                               "--no-mcp", "--max-pixels", str(max_pixels)], environ={})
    demo = launch(create_demo(settings), settings, block=False, quiet=True)
    return demo, demo.local_url


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    with pytest.MonkeyPatch.context() as monkeypatch:
        demo, url = launch_test_app(tmp, monkeypatch)
        try:
            yield url
        finally:
            demo.close()


@pytest.fixture(scope="module")
def client(app, tmp_path_factory):
    return Client(app, analytics_enabled=False, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Real faces (and broken files) copied or made from the shared data, one of each kind the app must handle."""
    tmp = tmp_path_factory.mktemp("inputs")
    face = real_face_lr(390)
    hr = Image.open(CELEBA_HQ / "00391.png").convert("RGB")
    paths = {name: tmp / name for name in (
        "face.png", "crop.jpg", "photo.jpg", "noface.png", "anim.gif", "grey16.png", "cmyk.jpg", "rgba.png",
        "notimage.png", "empty.png", "truncated.png", "huge.png")}
    face.save(paths["face.png"])
    hr.crop((28, 10, 228, 250)).resize((100, 120), Image.BICUBIC).save(paths["crop.jpg"], quality=95)
    paths["photo.jpg"].write_bytes(CELEBA_PHOTO.read_bytes())
    # A photo without a face: the top-left corner of a portrait (hair and background), enlarged.
    hr.crop((0, 0, 48, 48)).resize((96, 96), Image.BICUBIC).save(paths["noface.png"])
    frames = [face, face.transpose(Image.FLIP_LEFT_RIGHT)]
    frames[0].save(paths["anim.gif"], save_all=True, append_images=frames[1:], duration=200, loop=0)
    grey16 = (np.asarray(face.convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(grey16).save(paths["grey16.png"])  # mode I;16
    face.convert("CMYK").save(paths["cmyk.jpg"], quality=95)
    rgba = face.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.where(np.arange(64)[None, :] < 32, 0, 255).astype(np.uint8).repeat(64, 0)))
    rgba.save(paths["rgba.png"])
    paths["notimage.png"].write_text("this is not an image\n")
    paths["empty.png"].write_bytes(b"")
    data = (tmp / "face.png").read_bytes()
    paths["truncated.png"].write_bytes(data[: len(data) // 2])
    face.resize((400, 400)).save(paths["huge.png"])  # 160,000 pixels > MAX_PIXELS
    return paths


def call(client: Client, image: Path | None, *, mode: str = MODE_ALIGNED, model: str | None = "fast",
         fidelity: float = 0.0, native: bool = True, compare: str = "bicubic", background: str = "bicubic",
         **photo_options):
    """One /upscale request; returns (before, after, png, info, faces): the slider's preview images and the
    full-size PNG opened. ``photo_options`` (``scale``, ``min_face``) are sent only when given, as an old client
    that knows nothing of them would."""
    extra = [photo_options[name] for name in ("scale", "min_face") if name in photo_options]
    (before, after), png, info, faces = client.predict(
        handle_file(str(image)) if image else None, mode, model, fidelity, native, compare, background, *extra,
        api_name="/upscale")
    return Image.open(before), Image.open(after), Image.open(png), info, faces


def psnr(a: Image.Image, b: Image.Image) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(10 * np.log10(255.0**2 / max(np.mean((x - y) ** 2), 1e-12)))


def phone_photo(path: Path, *, size: tuple[int, int] = (4000, 3000), face_side: int = 192,
                at: tuple[int, int] = (1700, 1100)) -> Path:
    """A phone-sized JPEG: a blurred real portrait stretched over ``size`` as the scene, a real face pasted in."""
    scene = Image.open(CELEBA_HQ / "00398.png").convert("RGB").resize((size[0] // 8, size[1] // 8), Image.BICUBIC)
    scene = scene.resize(size, Image.BICUBIC)
    scene.paste(Image.open(CELEBA_HQ / "00391.png").convert("RGB").resize((face_side, face_side), Image.BICUBIC), at)
    scene.save(path, quality=90)
    return path


# ---------------------------------------------------------------------------------------------------- over HTTP


def test_aligned_face_comes_back_4x_as_png_with_a_same_size_lossy_preview(client, inputs):
    before, after, png, info, faces = call(client, inputs["face.png"])

    assert (after.format, before.format, png.format) == ("JPEG", "JPEG", "PNG")
    assert after.size == before.size == png.size == (256, 256) and png.mode == "RGB"
    assert psnr(after, png) > 35  # the slider shows the result (high-quality JPEG); the download is lossless
    assert "**fast** on CPU (float32)" in info and "64×64 → 256×256" in info and faces == []
    # The output really is the model's 4x of this face: downscaled again, it matches the input closely.
    again = degrade(torch.from_numpy(np.array(png)).permute(2, 0, 1)[None].float() / 255)
    lr = torch.from_numpy(np.array(Image.open(inputs["face.png"]))).permute(2, 0, 1)[None].float() / 255
    assert 10 * torch.log10(1 / F.mse_loss(again, lr)) > 30


def test_aligned_crop_native_goes_through_64x64_and_as_is_keeps_its_size(client, inputs):
    _, native, _, native_info, _ = call(client, inputs["crop.jpg"], native=True, compare="nearest")
    before, as_is, _, _, _ = call(client, inputs["crop.jpg"], native=False)

    assert native.size == (256, 256) and "100×120 → 64×64 → 256×256" in native_info
    assert "not square" in native_info
    assert as_is.size == before.size == (400, 480)


def test_whole_photo_restores_the_face_and_shows_it_in_the_gallery(client, inputs):
    before, after, png, info, faces = call(client, inputs["photo.jpg"], mode=MODE_PHOTO, background="fast")

    assert after.size == before.size == png.size == (178 * 4, 218 * 4)  # no scale sent: x4, as before
    assert "1 face restored" in info and "fast background" in info and "(x4)" in info
    assert [face["caption"] for face in faces] == ["Face 1: aligned input", "Face 1: restored",
                                                   "Faces found: 1 restored (green, numbered)"]
    overview = Image.open(faces[-1]["image"])
    assert max(overview.size) <= 640 and overview.size[0] / overview.size[1] == pytest.approx(178 / 218, abs=0.01)
    green = np.all(np.abs(np.asarray(overview, dtype=int) - (34, 197, 94)) < 40, axis=-1)
    assert green.sum() > 100  # the face's box is drawn
    assert all(Image.open(face["image"]).size == (256, 256) for face in faces[:-1])


def test_photo_without_a_face_says_so_and_still_returns_the_upscaled_photo(client, inputs):
    _, after, png, info, faces = call(client, inputs["noface.png"], mode=MODE_PHOTO)
    _, _, same, same_info, _ = call(client, inputs["noface.png"], mode=MODE_PHOTO, scale="x1")

    assert after.size == png.size == (384, 384) and [face["caption"] for face in faces] == ["No face found"]
    assert "No face found" in info and "0 faces restored" in info and "upscaled 4x with bicubic" in info
    assert "No face found" in same_info and "kept at its own size" in same_info
    assert np.array_equal(np.asarray(same), np.asarray(Image.open(inputs["noface.png"]).convert("RGB")))


def test_a_phone_photo_comes_back_same_size_at_x1_and_twice_the_size_at_x2(client, inputs, tmp_path):
    photo = phone_photo(tmp_path / "phone.jpg")
    original = Image.open(photo).convert("RGB")

    before, after, same, info, faces = call(client, photo, mode=MODE_PHOTO, scale="x1")
    assert same.format == "PNG" and same.size == (4000, 3000)
    assert after.size == before.size == (2000, 1500) and after.format == "JPEG"  # a preview sized for the screen
    assert "4000×3000 → 4000×3000 (x1)" in info and "1 face restored" in info and len(faces) == 3
    # x1 keeps the photo's own pixels everywhere but on the face, which the (tiny, random) model re-rendered.
    diff = np.abs(np.asarray(same, dtype=int) - np.asarray(original, dtype=int)).max(axis=-1)
    rows, cols = np.nonzero(diff)
    assert 1700 - 40 < cols.min() and cols.max() < 1700 + 192 + 40 and 1100 - 40 < rows.min()
    assert rows.max() < 1100 + 192 + 40

    _, after, double, info, _ = call(client, photo, mode=MODE_PHOTO, scale="x2")
    assert double.size == (8000, 6000) and after.size == (2000, 1500)
    assert "4000×3000 → 8000×6000 (x2)" in info and "1 face restored" in info
    # away from the face, x2 is the photo enlarged: shrunk back, it is the photo again
    box = (0, 0, 1500, 1000)
    assert psnr(double.resize((4000, 3000), Image.BICUBIC).crop(box), original.crop(box)) > 35


def test_a_photo_over_the_x4_limit_is_refused_naming_the_scales_that_take_it(client, tmp_path):
    photo = phone_photo(tmp_path / "phone.jpg", size=(1200, 900), face_side=160, at=(500, 300))

    with pytest.raises(AppError) as error:
        call(client, photo, mode=MODE_PHOTO, scale="x4")
    message = str(error.value)
    assert "phone.jpg: 1200x900 (1,080,000 pixels) is above the x4 limit of 90,000 pixels (300x300)" in message
    assert "choose x2 or x1, which take photos up to 16,777,216 pixels" in message
    assert call(client, photo, mode=MODE_PHOTO, scale="x2")[2].size == (2400, 1800)  # and x2 does take it


def test_min_face_leaves_smaller_faces_as_they_are_and_counts_them(client, inputs):
    _, _, png, info, faces = call(client, inputs["photo.jpg"], mode=MODE_PHOTO, scale="x1", min_face=250)
    _, _, restored, _, _ = call(client, inputs["photo.jpg"], mode=MODE_PHOTO, scale="x1", min_face=0)
    original = np.asarray(Image.open(inputs["photo.jpg"]).convert("RGB"))

    assert "0 faces restored" in info and "1 under 250 px left as it is" in info
    assert [face["caption"] for face in faces] == ["Faces found: 0 restored (green, numbered), 1 left as it is "
                                                   "(orange)"]
    assert np.array_equal(np.asarray(png), original) and not np.array_equal(np.asarray(restored), original)


def test_the_model_left_empty_is_the_modes_default_and_the_info_names_it(client, inputs):
    _, _, _, aligned_info, _ = call(client, inputs["face.png"], model=None)
    _, _, _, photo_info, _ = call(client, inputs["photo.jpg"], mode=MODE_PHOTO, model=None, scale="x1")

    # fast-real is not among this app's models, so whole photos fall back on fast
    assert aligned_info.startswith("**fast** on CPU") and photo_info.startswith("**fast** on CPU")


@pytest.mark.parametrize(("name", "message"), [
    ("notimage.png", "notimage.png: not an image"),
    ("empty.png", "empty.png: empty file (0 bytes)"),
    ("truncated.png", "truncated.png: corrupt or truncated image data"),
    ("huge.png", "huge.png: 400x400 (160,000 pixels) is above the limit of 90,000 pixels (300x300); downscale it"),
])
def test_bad_files_get_a_clear_error(client, inputs, name, message):
    with pytest.raises(AppError) as error:
        call(client, inputs[name])
    assert message in str(error.value)
    assert "Traceback" not in str(error.value) and str(inputs[name].parent) not in str(error.value)


def test_no_image_and_a_model_without_weights_get_a_clear_error(client, inputs):
    with pytest.raises(AppError, match="Add an image first"):
        call(client, None)
    with pytest.raises(AppError, match="quality"):  # not offered: Gradio refuses a value outside the choices
        call(client, inputs["face.png"], model="quality")


@pytest.mark.parametrize(("name", "mode", "preview", "note"), [
    ("anim.gif", "RGB", "JPEG", "animated (2 frames): only the first frame was upscaled"),
    ("grey16.png", "L", "JPEG", "16-bit pixels: converted to 8 bits"),
    ("cmyk.jpg", "RGB", "JPEG", "CMYK image: converted to RGB"),
    ("rgba.png", "RGBA", "WEBP", "transparency: the alpha channel is kept"),
])
def test_unusual_images_are_upscaled_with_a_note(client, inputs, name, mode, preview, note):
    _, after, png, info, _ = call(client, inputs[name])

    assert png.size == after.size == (256, 256) and png.mode == after.mode == mode and after.format == preview
    assert note in info
    if name == "rgba.png":  # the transparent left half stays transparent, the right half opaque (preview too)
        for image in (png, after):
            alpha = np.asarray(image.getchannel("A"))
            assert alpha[:, :120].max() == 0 and alpha[:, 136:].min() == 255
    if name == "anim.gif":  # the first frame (up to GIF's palette), not the mirrored second one
        first = np.asarray(call(client, inputs["face.png"])[2], dtype=np.float32)
        gif = np.asarray(png, dtype=np.float32)
        assert np.abs(gif - first).mean() < 3.0 < 3 * 3.0 < np.abs(gif - first[:, ::-1]).mean()


def test_eight_concurrent_requests_all_succeed_with_their_own_result(client):
    faces = [real_face_lr(index) for index in range(392, 400)]
    folder = Path(client.output_dir) / "concurrent-inputs"
    folder.mkdir(exist_ok=True)
    for k, face in enumerate(faces):
        face.save(folder / f"c{k}.png")
    jobs = [client.submit(handle_file(str(folder / f"c{k}.png")), MODE_ALIGNED, "fast", 0.3, True, "bicubic",
                          "bicubic", api_name="/upscale") for k in range(len(faces))]
    results = [job.result(timeout=120) for job in jobs]

    for face, (_, png, info, _) in zip(faces, results, strict=True):
        out = torch.from_numpy(np.array(Image.open(png))).permute(2, 0, 1)[None].float() / 255
        lr = torch.from_numpy(np.array(face)).permute(2, 0, 1)[None].float() / 255
        assert out.shape[-2:] == (256, 256)
        assert 10 * torch.log10(1 / F.mse_loss(degrade(out), lr)) > 30  # each user got their own face back
        assert "weights blended" in info


def test_batch_zip_holds_every_output_and_lists_the_failures(client, inputs):
    files = [inputs["face.png"], inputs["crop.jpg"], inputs["rgba.png"], inputs["notimage.png"]]
    archive, summary = client.predict([handle_file(str(f)) for f in files], MODE_ALIGNED, "fast", 0.0, True,
                                      "bicubic", api_name="/upscale_batch")

    with zipfile.ZipFile(archive) as zipped:
        names = sorted(zipped.namelist())
        assert names == ["crop_x4.png", "errors.txt", "face_x4.png", "rgba_x4.png"]
        for name in (n for n in names if n.endswith(".png")):
            assert Image.open(io.BytesIO(zipped.read(name))).size == (256, 256)
        assert "notimage.png: not an image" in zipped.read("errors.txt").decode()
    assert "3 of 4 images upscaled" in summary


# ---------------------------------------------------------------------------------------------------- in process


@pytest.fixture
def registry(tmp_path, monkeypatch) -> ModelRegistry:
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(make_tiny_weights(tmp_path / "weights")))
    monkeypatch.delenv("FACESR_MODELS", raising=False)
    return ModelRegistry(discover_models(), device="cpu")


def test_fidelity_ends_are_the_two_checkpoints_and_the_middle_is_a_weight_blend(registry, tmp_path):
    face = tmp_path / "face.png"
    real_face_lr(393).save(face)

    def run(model: str, fidelity: float) -> np.ndarray:
        return np.asarray(upscale_file(face, UpscaleOptions(model=model, fidelity=fidelity), registry).output)

    gan, psnr, middle = run("fast", 0.0), run("fast", 1.0), run("fast", 0.5)
    assert np.array_equal(psnr, run("fast-psnr", 0.0))
    assert not np.array_equal(gan, psnr) and not np.array_equal(middle, gan) and not np.array_equal(middle, psnr)
    assert registry.get("fast").model is registry.get("fast").model  # loaded once


def test_each_mode_starts_with_its_model_and_falls_back_on_fast():
    bundled_today, with_real = ["fast", "fast-psnr", "upsample"], ["fast", "fast-psnr", "fast-real", "upsample"]

    assert default_model(MODE_PHOTO, bundled_today) == "fast" and default_model(MODE_ALIGNED, bundled_today) == "fast"
    assert default_model(MODE_PHOTO, with_real) == "fast-real" and default_model(MODE_ALIGNED, with_real) == "fast"
    assert default_model(MODE_PHOTO, ["owner/repo"]) == "owner/repo" and default_model(MODE_PHOTO, []) is None
    # Switching modes follows the defaults, but a model the user picked by hand stays picked.
    assert model_for_mode(MODE_PHOTO, "fast", with_real) == "fast-real"
    assert model_for_mode(MODE_ALIGNED, "fast-real", with_real) == "fast"
    assert model_for_mode(MODE_PHOTO, "upsample", with_real) == "upsample"
    assert model_for_mode(MODE_PHOTO, "fast", bundled_today) == "fast"


def test_whole_photos_use_fast_real_once_it_is_bundled_and_the_info_names_it(tmp_path, monkeypatch, inputs):
    weights = make_tiny_weights(tmp_path / "weights", names=("fast", "fast-psnr", "fast-real"))
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(weights))
    registry = ModelRegistry(discover_models(environ={}), device="cpu")
    model = default_model(MODE_PHOTO, registry.catalog.names)

    result = upscale_file(inputs["photo.jpg"], UpscaleOptions(model=model, mode=MODE_PHOTO, scale=1), registry)
    assert model == "fast-real" and result.summary().startswith("**fast-real** on CPU")
    assert default_model(MODE_ALIGNED, registry.catalog.names) == "fast"


def test_scales_parse_from_the_api_spelling():
    assert [parse_scale(text) for text in ("x4", "x2", "X1", 2)] == [4, 2, 1, 2]
    with pytest.raises(ValueError, match="x4, x2, x1"):
        parse_scale("x3")
    with pytest.raises(ValueError, match="scale"):
        UpscaleOptions(model="fast", scale=3)


def test_faces_are_chosen_by_size_and_count():
    """Faces laid out like the template at a given crop side (the aligned crop the model restores to 256 px)."""
    def face(side: float, x: float) -> DetectedFace:
        landmarks = template_for(side) + (x, 0.0)
        return DetectedFace(box=(x + 0.3 * side, 0.3 * side, x + 0.7 * side, 0.7 * side), landmarks=landmarks,
                            score=1.0)

    faces = [face(40, 0), face(200, 100), face(300, 400), face(600, 800)]  # boxes 16, 80, 120, 240 px
    assert [c.skipped for c in choose_faces(faces, scale=4, min_face=24)] == [SKIPPED_SMALL, None, None, None]
    # x2: a 300 px crop would need the 256 px restoration enlarged 2.3x; x1: only the 600 px one is too large
    assert [c.skipped for c in choose_faces(faces, scale=2, min_face=24)] == [SKIPPED_SMALL, None, SKIPPED_LARGE,
                                                                              SKIPPED_LARGE]
    assert [c.skipped for c in choose_faces(faces, scale=1, min_face=0)] == [None, None, None, SKIPPED_LARGE]
    assert [c.skipped for c in choose_faces(faces, scale=4, min_face=0, max_faces=2)] == [
        SKIPPED_CROWD, SKIPPED_CROWD, None, None]


def test_whole_photo_reports_progress_stage_by_stage(registry, inputs):
    stages: list[tuple[float, str]] = []
    upscale_file(inputs["photo.jpg"], UpscaleOptions(model="fast", mode=MODE_PHOTO, scale=2), registry,
                 progress=lambda fraction, what: stages.append((fraction, what)))

    assert [what for _, what in stages] == ["Loading fast", "Finding faces", "Enlarging the background x2",
                                            "Restoring face 1 of 1"]
    assert [fraction for fraction, _ in stages] == sorted(fraction for fraction, _ in stages)


def test_previews_are_one_size_and_shrunk_by_a_whole_factor():
    from facesr_hub.app.previews import preview_pair

    photo = Image.open(CELEBA_HQ / "00391.png").convert("RGB").resize((783, 1146))
    output = photo.resize((783 * 4, 1146 * 4), Image.BICUBIC)
    before, after = preview_pair(photo, output, compare="nearest")
    assert before.size == after.size == (1044, 1528)  # 3132x4584 / 3: the first whole factor under 2048 px
    # "before" is enlarged as asked (nearest: the input's own pixels), not smoothed
    assert np.array_equal(np.asarray(before), np.asarray(photo.resize(before.size, Image.NEAREST)))
    assert psnr(after, photo.resize(after.size, Image.BICUBIC)) > 30
    same, shown = preview_pair(output, output)  # x1: both sides shrunk alike
    assert same.size == shown.size == (1044, 1528) and np.array_equal(np.asarray(same), np.asarray(shown))
    small = photo.resize((300, 200))
    assert [image.size for image in preview_pair(small, small)] == [(300, 200), (300, 200)]  # never enlarged


def test_a_photo_over_every_limit_says_so(registry, tmp_path):
    photo = phone_photo(tmp_path / "big.jpg", size=(1000, 800), face_side=160, at=(400, 300))
    options = UpscaleOptions(model="fast", mode=MODE_PHOTO, scale=1, max_pixels=100_000, max_photo_pixels=500_000)

    with pytest.raises(ImageTooLargeError, match=r"big.jpg: 1000x800 \(800,000 pixels\) is above the limit at "
                                                 r"every scale of 500,000 pixels; downscale it first"):
        upscale_file(photo, options, registry)
    with pytest.raises(ImageTooLargeError, match="above the x4 limit of 100,000 pixels; x2 and x1 take at most "
                                                 "500,000 pixels: downscale it first"):
        upscale_file(photo, UpscaleOptions(model="fast", mode=MODE_PHOTO, scale=4, max_pixels=100_000,
                                           max_photo_pixels=500_000), registry)


def test_catalog_lists_models_without_weights_and_refuses_them(registry):
    catalog = registry.catalog
    assert catalog.names == ["fast", "fast-psnr"] and catalog.default == "fast"
    assert set(catalog.missing) == set(EXPECTED_BUNDLED) - {"fast", "fast-psnr"}
    assert "No weights yet (not offered): `pixelshuffle-v1`" in status_markdown(registry)
    with pytest.raises(ModelUnavailableError, match="'quality' has no trained weights yet"):
        registry.get("quality")


def test_app_starts_without_any_weights_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("GRADIO_EXAMPLES_CACHE", str(tmp_path / "cache"))
    registry = ModelRegistry(discover_models(environ={}), device="cpu")
    demo = build_demo(registry, max_pixels=MAX_PIXELS)

    assert registry.catalog.names == [] and registry.catalog.default is None
    assert "No model has trained weights yet" in status_markdown(registry)
    assert any(fn.api_name == "upscale" for fn in demo.fns.values())


def test_batch_service_writes_one_png_per_image(registry, tmp_path):
    paths = []
    for index in (394, 395):
        paths.append(tmp_path / f"{index}.png")
        real_face_lr(index).save(paths[-1])
    paths.append(paths[0])  # the same name twice gets a second, distinct entry

    result = upscale_batch(paths, UpscaleOptions(model="fast"), registry, out_dir=tmp_path)
    with zipfile.ZipFile(result.zip_path) as zipped:
        assert sorted(zipped.namelist()) == ["394_x4.png", "394_x4_2.png", "395_x4.png"]
    with pytest.raises(ValueError, match="no files"):
        upscale_batch([], UpscaleOptions(model="fast"), registry, out_dir=tmp_path)


def test_hub_models_from_the_environment_are_pinned_to_the_commit_shown(hub_server, hub_repo_id, hub_cache,
                                                                        tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    weights = make_tiny_weights(tmp_path / "weights")
    api = HfApi()
    api.create_repo(hub_repo_id)
    first = api.upload_folder(folder_path=weights / "fast", repo_id=hub_repo_id).oid
    api.create_tag(hub_repo_id, tag="v1", revision=first)
    api.upload_folder(folder_path=weights / "fast-psnr", repo_id=hub_repo_id)  # main moves on
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(tmp_path / "none"))

    catalog = discover_models(environ={"FACESR_MODELS": f"{hub_repo_id}@v1, {hub_repo_id}"})
    registry = ModelRegistry(catalog, device="cpu")
    pinned = registry.get(f"{hub_repo_id}@v1")

    assert catalog.names == [f"{hub_repo_id}@v1", hub_repo_id]
    assert pinned.commit == first and pinned.display_name == f"{hub_repo_id}@{first[:12]}"
    assert registry.get(hub_repo_id).commit == hub_server.commits(hub_repo_id)[0].sha != first


def test_model_specs_parse_revisions_and_refuse_malformed_ids():
    assert parse_model_specs(" a/b , c/d@v1.0,") == [("a/b", None), ("c/d", "v1.0")]
    with pytest.raises(ValueError, match="owner/name"):
        parse_model_specs("not-a-repo")
    with pytest.raises(ValueError, match="empty revision"):
        parse_model_specs("a/b@")


def test_server_settings_follow_the_environment_and_the_command_line():
    local = parse_settings([], environ={})
    space = parse_settings([], environ={"SPACE_ID": "owner/space"})
    custom = parse_settings(["--host", "0.0.0.0", "--port", "8000", "--no-browser", "--concurrency", "4",
                             "--max-photo-pixels", "5000"], environ={"FACESR_MAX_PIXELS": "1000"})

    assert (local.host, local.port, local.open_browser) == ("127.0.0.1", None, True)
    assert (space.host, space.open_browser) == ("0.0.0.0", False)
    assert (custom.host, custom.port, custom.open_browser, custom.concurrency, custom.max_pixels) == \
        ("0.0.0.0", 8000, False, 4, 1000)
    assert (local.max_pixels, local.max_photo_pixels, custom.max_photo_pixels) == (1024 * 1024, 4096 * 4096, 5000)
    assert local.mcp == mcp_available()
    with pytest.raises(ValueError, match="concurrency"):
        ServerSettings(host="127.0.0.1", port=None, open_browser=False, device="cpu", half=True, concurrency=0,
                       max_pixels=1, mcp=False)


def test_requirements_txt_matches_the_pyproject_dependencies():
    """The Space installs requirements.txt; the project installs pyproject.toml: requirements.txt lists the core
    dependencies plus the [app] and [onnx] extras, the same things."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]

    def normalised(specs):
        return sorted(str(Requirement(spec)).lower().replace("_", "-") for spec in specs)

    extras = pyproject["project"]["optional-dependencies"]
    space = pyproject["project"]["dependencies"] + extras["app"] + extras["onnx"]
    assert normalised(filter(None, lines)) == normalised(space)


def test_bundled_examples_are_64x64_rgb_pngs_and_documented():
    examples = sorted((REPO / "examples").glob("*.png"))
    readme = (REPO / "examples" / "README.md").read_text()

    assert len(examples) >= 3
    for path in examples:
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (64, 64))
        assert path.name in readme
    assert "non-commercial" in readme
