"""The in-browser page (web/): fast and fast-real run client-side with onnxruntime-web, served by the app at /web/.

The page is built by ``web/build.sh`` (``npm ci`` from the npm registry, then the bundled ONNX models copied in);
a fixture runs it when ``web/dist/`` is missing or out of date (other page files, or other models than the bundled
ONNX files), and skips only when npm is absent. Chromium is Debian's
(``apt-get install chromium``), driven by Playwright as in tests/test_app_browser.py; the browser only ever talks to
the app on 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_app import CELEBA_HQ, launch_test_app, real_face_lr
from test_app_browser import CHROMIUM, CHROMIUM_ARGS

from facesr_hub.app.inputs import to_native
from facesr_hub.app.web import WEB_DIST, web_page_built
from facesr_hub.images import pil_to_tensor, tensor_to_pil
from facesr_hub.loading import PACKAGE_WEIGHTS_DIR, load_generator

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "web" / "build.sh"
PAGE_MODELS = ("fast", "fast-real")
PAGE_FILES = ("index.html", "main.js", "resize.js", "style.css")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                      "(apt-get install chromium)"),
]


def _dist_is_current() -> bool:
    """Built from the page's current files, and each model is the bundled ONNX file (where that exists: the ONNX
    export writes it)."""
    if not web_page_built():
        return False
    for name in PAGE_FILES:
        if (WEB_DIST / name).read_bytes() != (REPO / "web" / name).read_bytes():
            return False
    for name in PAGE_MODELS:
        bundled, built = PACKAGE_WEIGHTS_DIR / name / "onnx" / "model.onnx", WEB_DIST / "models" / f"{name}.onnx"
        if not built.is_file() or (bundled.is_file() and bundled.read_bytes() != built.read_bytes()):
            return False
    return True


@pytest.fixture(scope="module")
def built_page() -> Path:
    if not _dist_is_current():
        if shutil.which("npm") is None:
            pytest.skip("needs npm (Node.js) to build the page with web/build.sh: apt-get install npm")
        subprocess.run(["bash", str(BUILD)], check=True, timeout=300)
    return WEB_DIST


@pytest.fixture(scope="module")
def app_url(built_page, tmp_path_factory):
    # The app's own models are tiny random ones (test_app.py); the page serves the built, bundled ONNX models.
    with pytest.MonkeyPatch.context() as monkeypatch:
        demo, url = launch_test_app(tmp_path_factory.mktemp("app"), monkeypatch)
        try:
            yield url
        finally:
            demo.close()


@pytest.fixture(scope="module")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(60_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(app_url)
    page.wait_for_selector("#header a[href='web/']")  # the app's header links the page
    page.goto(app_url + "web/")
    page.wait_for_selector("body[data-ready=true]")
    page.requests = requests  # every URL the page asked for, to check that none leaves the app
    yield page
    page.close()


def upscale_in_page(page, image: Path, *, model: str = "fast") -> str:
    page.check(f"input[name=model][value='{model}']")
    page.set_input_files("#file", str(image))
    page.wait_for_function(f"() => document.querySelector('#result').dataset.model === '{model}' "
                           "&& document.querySelector('#message').dataset.kind === 'done'")
    return page.inner_text("#message")


def canvas(page, selector: str) -> Image.Image:
    """A canvas's pixels, read back losslessly as PNG."""
    url = page.eval_on_selector(selector, "c => c.toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def pytorch_output(name: str, face: Image.Image) -> Image.Image:
    model = load_generator(str(PACKAGE_WEIGHTS_DIR / name), device="cpu")  # not FACESR_WEIGHTS_DIR's tiny models
    with torch.no_grad():
        return tensor_to_pil(model(pil_to_tensor(face)[None])[0])


def test_face_restored_in_the_browser_matches_pytorch_and_nothing_is_uploaded(page, tmp_path):
    face = real_face_lr(396)  # a held-out CelebA-HQ face taken to 64x64 by the protocol's degrade
    face.save(tmp_path / "face.png")
    for name in PAGE_MODELS:
        message = upscale_in_page(page, tmp_path / "face.png", model=name)
        assert f"{name}: " in message and "ms per face" in message
        after = canvas(page, "#after")
        assert after.size == (256, 256)
        score = psnr(after, pytorch_output(name, face))
        assert score >= 50.0, name
        print(f"{message} PSNR vs PyTorch: {score:.1f} dB")  # the time per face, in headless Chromium here
    assert canvas(page, "#before").tobytes() == face.tobytes()  # a 64x64 crop goes in as it is
    assert "never leaves this page" in page.inner_text("header")
    assert page.eval_on_selector("#app-link", "a => a.href") == page.url.removesuffix("web/")  # back to the app
    assert all(url.startswith(page.url.removesuffix("web/")) for url in page.requests), page.requests
    page.screenshot(path=str(tmp_path / "web_page.png"), full_page=True)


def test_a_non_square_crop_is_centre_cropped_and_resized_as_the_aligned_mode_does(page, tmp_path):
    hr = Image.open(CELEBA_HQ / "00391.png").convert("RGB")
    crop = hr.crop((20, 0, 220, 240))  # 200x240: the centre 200x200 is used, then resized to 64x64
    crop.save(tmp_path / "crop.png")
    message = upscale_in_page(page, tmp_path / "crop.png")
    expected, _ = to_native(crop)
    before = canvas(page, "#before")
    difference = np.abs(np.asarray(before, dtype=int) - np.asarray(expected, dtype=int))
    print(f"64x64 input vs to_native(): max |diff| {difference.max()}, {np.count_nonzero(difference)} values differ")
    assert difference.max() <= 1 and difference.mean() < 0.01  # the same kernel; float rounding may differ by 1
    assert "not square (200×240): its centre 200×200 was used" in message
    assert psnr(canvas(page, "#after"), pytorch_output("fast", expected)) >= 45.0


ZERO_BY_ZERO_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>'


@pytest.mark.parametrize(("name", "data", "how", "message"), [
    ("notes.png", b"this is a text file, renamed\n", "pick", "notes.png is not an image this browser can read"),
    ("empty.png", b"", "drop", "empty.png is empty (0 bytes)"),
    ("nothing.svg", ZERO_BY_ZERO_SVG, "paste", "nothing.svg has no pixels (0×0)"),
], ids=["text-renamed-png-picked", "empty-file-dropped", "zero-by-zero-image-pasted"])
def test_a_bad_file_gets_a_clear_message(page, tmp_path, name, data, how, message):
    path = tmp_path / name
    path.write_bytes(data)
    if how == "pick":
        page.set_input_files("#file", str(path))
    else:  # a drop on the drop zone, or a paste anywhere on the page, carrying the file
        page.evaluate("""([name, bytes, how]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: name.endsWith('.svg') ? 'image/svg+xml'
                                                                                                   : 'image/png'}));
            const event = how === 'drop' ? new DragEvent('drop', {dataTransfer: transfer, bubbles: true})
                                         : new ClipboardEvent('paste', {clipboardData: transfer, bubbles: true});
            (how === 'drop' ? document.getElementById('drop') : document).dispatchEvent(event);
        }""", [name, list(data), how])
    page.wait_for_selector("#message[data-kind=error]")
    assert message in page.inner_text("#message")
    assert page.is_hidden("#result")
