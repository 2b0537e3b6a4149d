"""The demo in a real headless browser (Debian's Chromium via Playwright): upload, click, see the result.

Chromium comes from apt (``apt-get install chromium``, see .ci/run); Playwright never downloads a browser here.
The browser runs with networking features off and only ever talks to the app on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from facesr_hub.app.options import DEFAULT_FIDELITY, MODE_ALIGNED, MODE_PHOTO
from test_app import CELEBA_PHOTO, phone_photo, real_face_lr
from test_app import app as app_url  # noqa: F401  (the launch fixture, reused under this name)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                      "(apt-get install chromium)"),
]


@pytest.fixture
def page(app_url):  # noqa: F811  (app_url is the fixture imported above)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(app_url)
            page.wait_for_selector("#run")
            yield page
        finally:
            browser.close()


def result_width(page) -> int:
    """Natural width of the 'after' image in the before/after slider, once it has loaded."""
    page.wait_for_function("() => [...document.querySelectorAll('#result img')].some(i => i.complete "
                           "&& i.naturalWidth > 0)")
    return page.eval_on_selector_all("#result img", "imgs => Math.max(...imgs.map(i => i.naturalWidth))")


def test_upload_a_face_click_and_see_the_4x_result(page, tmp_path):
    face = tmp_path / "face.png"
    real_face_lr(396).save(face)

    page.locator("#input-image input[type=file]").set_input_files(str(face))
    page.wait_for_selector("#input-image img")
    page.click("#run")
    page.wait_for_function("() => document.querySelector('#info')?.innerText.includes('on CPU')")

    assert result_width(page) == 256
    assert "64×64 → 256×256" in page.inner_text("#info")
    screenshot = tmp_path / "app_aligned_face.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")

    # A bundled example: clicking it fills the input and shows its (lazily cached) result.
    page.locator("#examples button.gallery-item").nth(1).click()
    page.wait_for_function("() => [...document.querySelectorAll('#result img')].some(i => i.src.includes("
                           "'celeba_hq_00335'))")
    assert result_width(page) == 256


def test_whole_photo_shows_the_restored_faces(page, tmp_path):
    photo = tmp_path / "photo.jpg"
    shutil.copy(CELEBA_PHOTO, photo)

    page.locator("#input-image input[type=file]").set_input_files(str(photo))
    page.wait_for_selector("#input-image img")
    page.get_by_label("Whole photo").check()
    fidelity = page.locator("#fidelity input[type=number]")
    page.wait_for_function(f"() => document.querySelector('#fidelity input[type=number]').value == "
                           f"{DEFAULT_FIDELITY[MODE_PHOTO]}")  # each mode starts the slider at its own default
    page.click("#run")
    page.wait_for_function("() => document.querySelector('#info')?.innerText.includes('face restored')")
    page.wait_for_selector("#faces img")

    assert result_width(page) == 178 * 4
    assert f"at fidelity {DEFAULT_FIDELITY[MODE_PHOTO]:.2f}" in page.inner_text("#info")  # the blend was used
    page.get_by_label("Aligned face").check()
    page.wait_for_function(f"() => document.querySelector('#fidelity input[type=number]').value == "
                           f"{DEFAULT_FIDELITY[MODE_ALIGNED]}")
    assert float(fidelity.input_value()) == DEFAULT_FIDELITY[MODE_ALIGNED]
    screenshot = tmp_path / "app_whole_photo.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")


def test_scale_control_slider_preview_and_full_size_png_download(page, tmp_path):
    """A 1600x1200 photo at x2: the slider shows a 1600-px JPEG preview, Download gives the 3200x2400 PNG."""
    photo = phone_photo(tmp_path / "photo.jpg", size=(1600, 1200), face_side=180, at=(700, 400))

    page.locator("#input-image input[type=file]").set_input_files(str(photo))
    page.wait_for_selector("#input-image img")
    page.get_by_label("Whole photo").check()
    page.get_by_label("×2", exact=True).check()  # the scale control appears with the whole-photo mode
    page.click("#run")
    page.wait_for_function("() => document.querySelector('#info')?.innerText.includes('(x2)')")

    assert "1600×1200 → 3200×2400 (x2)" in page.inner_text("#info")
    assert result_width(page) == 1600  # 3200 / 2: the preview, sized for the screen
    sources = page.eval_on_selector_all("#result img", "imgs => imgs.map(i => i.src)")
    assert any(src.endswith("_after.jpg") for src in sources) and not any(src.endswith(".png") for src in sources)
    # The PNG is written after the preview is shown: the button holds it a moment later.
    for attempt in range(60):
        try:
            with page.expect_download(timeout=1000) as download:
                page.click("#download")
            break
        except Exception:  # Playwright's TimeoutError: nothing to download yet
            if attempt == 59:
                raise
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with Image.open(saved) as png:
        assert (png.format, png.size) == ("PNG", (3200, 2400))
    assert saved.name == "photo_x2.png"
    page.screenshot(path=str(tmp_path / "app_x2.png"), full_page=True)
