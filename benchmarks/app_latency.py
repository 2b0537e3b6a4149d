"""Latency of the running app as a user sees it: model time vs wall time per request, for each output scale.

    uv run python benchmarks/app_latency.py                  # bundled weights (facesr_hub/weights/ or $FACESR_WEIGHTS_DIR)
    uv run python benchmarks/app_latency.py --repeats 5 --device cpu

The app runs as ``uv run app.py`` runs it, in its own process (real bundled models, loopback only; a client in
the server's process would compete with it for the GIL), and is driven through ``gradio_client`` exactly as an
API user or the page would: upload, queue, the answer, downloads.
Inputs are made from real faces of ``celeba-hq-256`` (in the folder ``$FACESR_SHARED_DATA`` names) pasted onto a
real, blurred photo:

* ``group``: a 783x1146 (0.9 MP) photo with three faces, at x4, x2 and x1;
* ``phone``: a 4000x3000 (12 MP) phone-sized photo with three faces, at x2 and x1 (x4 is over the x4 limit).

For each request it prints the model's own time (the "upscaled in" figure of the info line: detection, faces,
background, paste-back; model loading excluded), the wall time to the answer (the first response: the preview,
the info and the faces, downloaded) and to the end (the full-size PNG written and downloaded too; a page fetches
it only when Download is clicked), and their ratios. The target is an answer within 1.5x the model's time
(``TARGET_RATIO``): Gradio's queue and the transfers should not dominate what the user waits for. Not a test:
figures depend on the machine (and on what else runs on it).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
CELEBA_HQ = Path(os.environ.get("FACESR_SHARED_DATA", REPO.parent / "shared" / "data")) / "celeba-hq-256"
TARGET_RATIO = 1.5


def make_photo(size: tuple[int, int], faces: list[tuple[int, int, int, int]], path: Path) -> Path:
    """A JPEG photo (quality 92, like a phone's): a blurred CelebA-HQ portrait stretched over ``size`` as the
    scene, with the real faces ``(index, x, y, side)`` pasted onto it."""
    scene = Image.open(CELEBA_HQ / "00010.png").convert("RGB").resize(size, Image.Resampling.BICUBIC)
    scene = scene.filter(ImageFilter.GaussianBlur(radius=max(size) / 200))
    # A little sensor-like noise: a flat, smooth scene would compress (and encode) unrealistically fast.
    noise = np.random.default_rng(0).normal(0.0, 3.0, (size[1], size[0], 1))
    scene = Image.fromarray(np.clip(np.asarray(scene) + noise, 0, 255).astype(np.uint8))
    for index, x, y, side in faces:
        face = Image.open(CELEBA_HQ / f"{index:05d}.png").convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
        scene.paste(face, (x, y))
    scene.save(path, quality=92)
    return path


def model_seconds(info: str) -> float:
    """The "upscaled in …" figure of the info line, in seconds."""
    match = re.search(r"upscaled in ([\d.]+) (ms|s)\b", info)
    if match is None:
        raise ValueError(f"no 'upscaled in' time in the info line: {info!r}")
    return float(match.group(1)) / (1000.0 if match.group(2) == "ms" else 1.0)


def file_urls(value: object) -> list[str]:
    """Every file URL in a Gradio output value (file dicts nested in tuples, lists and dicts)."""
    if isinstance(value, dict):
        return [value["url"]] if value.get("url") else [url for item in value.values() for url in file_urls(item)]
    if isinstance(value, (list, tuple)):
        return [url for item in value for url in file_urls(item)]
    return []


def one_request(client, http, photo: Path, scale: str) -> tuple[float, float, float, str]:
    """(model s, wall s to the answer, wall s to the end, info) for one whole-photo request.

    The client does not download files itself (gradio_client fetches them one by one on fresh connections,
    ~0.2 s each, which no browser does); they are fetched here on one keep-alive connection as a page would: the
    answer counts once every file of the first response (previews, face overview, face crops) is in, the end
    once the full-size PNG is in as well (a page fetches it only when Download is clicked).
    """
    from gradio_client import handle_file

    start = time.perf_counter()
    job = client.submit(handle_file(str(photo)), "Whole photo", None, 0.0, True, "bicubic", "bicubic", scale,
                        24, api_name="/upscale")
    answer = None
    while answer is None and not job.done():
        if outputs := job.outputs():
            for url in file_urls(outputs[0]):
                http.get(url).raise_for_status()
            answer = time.perf_counter() - start
        time.sleep(0.005)
    slider, png, info, _ = job.result()
    response = http.get(png["url"])
    response.raise_for_status()
    end = time.perf_counter() - start
    answer = end if answer is None else answer  # (the first response was already the last)
    with Image.open(io.BytesIO(response.content)) as full, Image.open(photo) as original:
        factor = int(scale[1:])
        if full.format != "PNG" or full.size != (original.width * factor, original.height * factor):
            raise RuntimeError(f"{photo.name} at {scale}: got a {full.format} of {full.size}")
    return model_seconds(info), answer, end, info


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(port: int, device: str, environ: dict[str, str]) -> subprocess.Popen:
    """``app.py`` on 127.0.0.1:``port`` in a process of its own, once it answers."""
    server = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port),
                               "--no-browser", "--device", device, "--no-mcp", "--concurrency", "1"],
                              cwd=REPO, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"app.py exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("app.py did not start listening within 180 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed requests per case, after one warm-up")
    parser.add_argument("--device", default="cpu", help="device the app runs on (default cpu)")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the app (default: inherited); 1 keeps a CPU that other work also "
                             "uses from stalling PyTorch's thread pool")
    args = parser.parse_args(argv)
    if not CELEBA_HQ.is_dir():
        print(f"benchmarks/app_latency.py: {CELEBA_HQ} not found (set FACESR_SHARED_DATA)", file=sys.stderr)
        return 1
    import httpx
    from gradio_client import Client

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        environ = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GRADIO_EXAMPLES_CACHE=str(tmp / "examples"))
        if args.threads is not None:
            environ["OMP_NUM_THREADS"] = str(args.threads)
        # Faces of a group photo: 140-160 px portraits here (boxes ~80 px), 200-260 px on the 12 MP photo, so
        # that every scale restores them (a face much larger than the model's 256 px output is kept at x1/x2).
        group = make_photo((783, 1146), [(391, 40, 150, 140), (393, 420, 120, 160), (395, 230, 560, 150)],
                           tmp / "group.jpg")
        phone = make_photo((4000, 3000), [(391, 400, 900, 220), (393, 1700, 700, 210), (395, 2900, 1100, 200)],
                           tmp / "phone.jpg")
        cases = [(group, "x4"), (group, "x2"), (group, "x1"), (phone, "x2"), (phone, "x1")]
        port = free_port()
        server = start_app(port, args.device, environ)
        try:
            client = Client(f"http://127.0.0.1:{port}/", analytics_enabled=False, verbose=False,
                            download_files=False)
            http = httpx.Client(timeout=120)
            print(f"app: {args.device}, OMP_NUM_THREADS={environ.get('OMP_NUM_THREADS', 'unset')}; "
                  f"{os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
            header = (f"{'photo':<20} {'scale':>5} {'output':>11} {'faces':>5} {'model s':>8} {'answer s':>9} "
                      f"{'end s':>7} {'answer/model':>13} {'end/model':>10}")
            print(header)
            print("-" * len(header))
            for photo, scale in cases:
                with Image.open(photo) as image:
                    size = image.size
                info = one_request(client, http, photo, scale)[3]  # warm-up: model load, detector load, caches
                runs = [one_request(client, http, photo, scale) for _ in range(args.repeats)]
                model = statistics.median(run[0] for run in runs)
                answer = statistics.median(run[1] for run in runs)
                end = statistics.median(run[2] for run in runs)
                factor = int(scale[1:])
                faces = re.search(r"(\d+) faces? restored", info)
                print(f"{photo.name + f' {size[0]}x{size[1]}':<20} {scale:>5} "
                      f"{f'{size[0] * factor}x{size[1] * factor}':>11} {faces.group(1) if faces else '-':>5} "
                      f"{model:>8.2f} {answer:>9.2f} {end:>7.2f} {answer / model:>12.2f}x {end / model:>9.2f}x")
            print(f"target: answer within {TARGET_RATIO}x the model's time (medians of {args.repeats} requests; "
                  "'end' adds writing and downloading the full-size PNG)")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
