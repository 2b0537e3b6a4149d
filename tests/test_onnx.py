"""ONNX export and the onnxruntime backend: the same images as PyTorch on real faces, the same errors, the Hub layout.

Parity is measured on real CelebA-HQ faces (held-out test split) made into LR inputs by the protocol, at 64x64 and
at a non-square 48x80, as PSNR between onnxruntime's and PyTorch's outputs (>= 60 dB; fp32 exports reach ~140 dB).
``fast`` and ``fast-real`` (shipped with their ``onnx/model.onnx``) and every registry architecture at a small size
run every time; the other bundled models (exported on first use: ``quality``'s 11.7 M parameters take about a minute
on 2 busy cores) and the seed's fixed-width PixelShuffle layouts run with ``RUN_SLOW=1``.
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from facesr_hub import GENERATORS, bundled_model_names, bundled_weights_dir, load_generator, upscale  # noqa: E402
from facesr_hub.cli import main as facesr  # noqa: E402
from facesr_hub.data import collect_images, degrade, hr_to_float, prepare_hr, resize_8bit  # noqa: E402
from facesr_hub.hub import CardInfo, push_generator_folder, render_model_card, save_generator_folder  # noqa: E402
from facesr_hub.images import ImageTooLargeError  # noqa: E402
from facesr_hub.metrics import psnr  # noqa: E402
from facesr_hub.onnx_export import (CHECK_SIZES, DIGEST_KEY, ONNX_PATH, OnnxExportError, check_inputs,  # noqa: E402
                                    export_onnx, onnx_is_current)
from facesr_hub.onnx_runtime import OnnxGenerator  # noqa: E402
from paths import CELEBA_HQ  # noqa: E402

MIN_DB = 60.0
SHIPPED_ONNX = ("fast", "fast-real")  # bundled with onnx/model.onnx; the others are exported on first use
#: The seed's PixelShuffle layouts have fixed widths (no small config) and cost 55 GMACs per 64x64 face, 20-40 s
#: per test on 2 busy CPU cores: RUN_SLOW=1 only.
FIXED_WIDTH = {"pixelshuffle-v1", "pixelshuffle-v2"}
#: Small configs, so that every registered architecture is exported in well under a second.
SMALL_KWARGS = {
    "fast": {"num_features": 8, "num_convs": 2},
    "quality": {"num_features": 8, "num_blocks": 1, "growth_channels": 4},
    "residual-attention": {"num_features": 16, "num_groups": 2, "blocks_per_group": 1, "attention_heads": 2},
    "upsample": {"num_features": 8},
}


@pytest.fixture(scope="module")
def faces() -> dict[tuple[int, int], torch.Tensor]:
    """Two real held-out faces as LR batches: the protocol's 64x64 input, and a non-square 48x80 one."""
    records = collect_images(CELEBA_HQ, "test", limit=2)
    hr = torch.stack([hr_to_float(prepare_hr(r.path, celeba_aligned=False)) for r in records])
    return {(64, 64): degrade(hr), (48, 80): resize_8bit(hr, (48, 80))}


def random_weights(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every weight non-zero (zero-initialised last convs would make a model plain bicubic) and seed-dependent."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


def parity_db(a: torch.Tensor, b: torch.Tensor) -> float:
    """Worst PSNR (dB) over the batch between two outputs clamped to [0, 1], as ``upscale`` clamps them."""
    return psnr(a.clamp(0, 1), b.clamp(0, 1)).min().item()


# ----- export ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in FIXED_WIDTH else n
                                  for n in sorted(GENERATORS)])
def test_every_architecture_exports_and_matches_pytorch(name, faces, tmp_path):
    model = random_weights(GENERATORS[name](**SMALL_KWARGS.get(name, {})))
    report = export_onnx(model, tmp_path / "model.onnx")
    assert set(report.parity_db) == set(CHECK_SIZES) and min(report.parity_db.values()) >= MIN_DB, report
    runtime = OnnxGenerator(report.path, config=model.config)
    with torch.inference_mode():
        for size, lr in faces.items():  # the export checked one face at each size; here two, and a crop of each
            crop = lr[..., :size[0] // 2, :size[1] // 2]
            out = runtime(crop)
            assert out.shape == (2, 3, 2 * size[0], 2 * size[1])
            assert parity_db(out, model(crop)) >= MIN_DB, (name, size)


def test_export_is_fp32_opset_18_with_dynamic_batch_height_and_width(tmp_path):
    model = random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"]))
    path = export_onnx(model, tmp_path / "m.onnx").path
    proto = onnx.load(str(path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 18
    [graph_input], [graph_output] = proto.graph.input, proto.graph.output
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_value for d in dims][1] == 3 and all(dims[i].dim_param for i in (0, 2, 3))
    assert all(graph_output.type.tensor_type.shape.dim[i].dim_param for i in (0, 2, 3))
    float_types = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}
    assert {t.data_type for t in proto.graph.initializer} & float_types == {onnx.TensorProto.FLOAT}
    metadata = {p.key: p.value for p in proto.metadata_props}
    assert len(metadata[DIGEST_KEY]) == 64 and metadata["scale"] == "4"
    x = torch.rand(3, 3, 13, 21)
    with torch.inference_mode():
        assert parity_db(OnnxGenerator(path, config=model.config)(x), model(x)) >= MIN_DB


def test_export_check_inputs_are_the_protocols_resize():
    face = torch.rand(1, 3, 256, 256)
    inputs = check_inputs(face)
    assert torch.equal(inputs[(64, 64)], degrade(face))
    assert torch.equal(inputs[(48, 80)], resize_8bit(face, (48, 80)))


def test_an_operator_without_onnx_export_is_named(tmp_path):
    class SpectralNet(torch.nn.Module):
        scale = 4

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.fft.rfft2(x).abs().repeat_interleave(4, -2)[..., :1].expand(-1, -1, -1, 4 * x.shape[-1])

    with pytest.raises(OnnxExportError, match=r"SpectralNet: .*operator aten::fft_rfft2"):
        export_onnx(SpectralNet(), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_an_export_that_differs_from_pytorch_is_refused(tmp_path, monkeypatch):
    import facesr_hub.onnx_export as onnx_export

    monkeypatch.setattr(onnx_export, "parity_psnr", lambda a, b: 25.0)  # what a wrong layout would score
    with pytest.raises(OnnxExportError, match=r"differs from PyTorch's .*64x64: 25.0 dB"):
        export_onnx(random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"])), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


# ----- the bundled models -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n if n in SHIPPED_ONNX else pytest.param(n, marks=pytest.mark.slow)
                                  for n in bundled_model_names()])
def test_bundled_model_on_onnxruntime_matches_pytorch_on_real_faces(name, faces):
    torch_model = load_generator(name, device="cpu")
    onnx_model = load_generator(name, backend="onnxruntime")
    if name in SHIPPED_ONNX:
        assert onnx_model.onnx_file == bundled_weights_dir() / name / ONNX_PATH
    with torch.inference_mode():
        for size, lr in faces.items():
            db = parity_db(onnx_model(lr), torch_model(lr))
            print(f"{name} {size[0]}x{size[1]}: {db:.1f} dB")
            assert db >= MIN_DB, (name, size, db)


@pytest.mark.parametrize("name", SHIPPED_ONNX)
def test_shipped_model_cards_say_how_to_run_the_onnx_file(name):
    """(That the file is the export of the shipped weights: tests/test_bundled_weights.py.)"""
    card = (bundled_weights_dir() / name / "README.md").read_text()
    onnx_section = card.split("## ONNX", 1)[1].split("\n## ", 1)[0]
    for needle in ("import onnxruntime as ort", "ort.InferenceSession(", '"input"', "float32", "onnxruntime-web",
                   "ort.InferenceSession.create('onnx/model.onnx')".replace("'", '"'), "[1, 3, H, W]"):
        assert needle in onnx_section, needle


def test_facesr_export_writes_the_hub_layout_and_reports_parity(tmp_path, capsys):
    assert facesr(["export", "fast", "--format", "onnx", "-o", str(tmp_path)]) == 0
    folder = tmp_path / "fast"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
        ["config.json", ONNX_PATH]
    assert (folder / "config.json").read_text() == (bundled_weights_dir() / "fast" / "config.json").read_text()
    assert "64x64" in capsys.readouterr().out
    assert facesr(["export", "no-such-model", "-o", str(tmp_path)]) == 1
    assert "error: no-such-model:" in capsys.readouterr().err


# ----- the onnxruntime backend ------------------------------------------------------------------------------------
def test_upscale_with_onnxruntime_gives_the_same_image_when_tiled(faces):
    torch_model = load_generator("fast", device="cpu")
    onnx_model = load_generator("fast", backend="onnxruntime")
    assert (onnx_model.scale, onnx_model.receptive_radius, onnx_model.config) == \
        (torch_model.scale, torch_model.receptive_radius, torch_model.config)
    face = faces[(48, 80)][0]
    outputs = [upscale(model, face, tile=24) for model in (torch_model, onnx_model)]  # 2x4 tiles of 48x80
    assert outputs[1].shape == (3, 192, 320)
    assert psnr(outputs[1][None], outputs[0][None]).item() >= MIN_DB
    # ... and the tiles really are cut: a tile without context (overlap 0) changes the PyTorch image
    assert not torch.equal(upscale(torch_model, face, tile=24, tile_overlap=0), outputs[0])


@pytest.mark.parametrize("image, kwargs", [
    (torch.rand(1, 1, 3, 8, 8), {}),  # 5-D
    (torch.randint(0, 9, (3, 8, 8), dtype=torch.int16), {}),  # an integer type other than uint8
    (torch.rand(3, 0, 8), {}),  # empty
    (np.zeros((8, 8, 5), np.uint8), {}),  # five channels
    (torch.rand(3, 40, 40), {"max_pixels": 1000}),  # over the limit
    (torch.rand(3, 8, 8), {"tile": 0}),  # a bad option
    ([[0.5]], {}),  # not an image
    ("no/such/face.png", {}),  # no such file
])
def test_bad_input_gets_the_same_error_on_both_backends(image, kwargs):
    errors = []
    for model in (load_generator("fast", device="cpu"), load_generator("fast", backend="onnxruntime")):
        with pytest.raises((ValueError, TypeError, ImageTooLargeError)) as caught:
            upscale(model, image, **kwargs)
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]


def test_facesr_upscale_with_the_onnxruntime_backend(tmp_path, faces, capsys):
    from PIL import Image

    face = tmp_path / "face.png"
    Image.fromarray((faces[(48, 80)][1].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(face)
    images = {}
    for backend in ("torch", "onnxruntime"):
        assert facesr(["upscale", str(face), "-o", str(tmp_path / backend), "--backend", backend, "--tile", "32"]) == 0
        images[backend] = np.asarray(Image.open(tmp_path / backend / "face_x4.png"), float)
    assert images["torch"].shape == (192, 320, 3)
    assert np.abs(images["torch"] - images["onnxruntime"]).max() <= 1  # 8-bit: a rare rounding step at most
    assert facesr(["upscale", str(face), "-o", str(tmp_path), "--backend", "onnxruntime", "--dtype", "float16"]) == 2
    assert "float32 only" in capsys.readouterr().err


def test_onnxruntime_backend_refuses_a_gpu_half_precision_and_unknown_backends():
    with pytest.raises(ValueError, match="CPU only"):
        load_generator("fast", backend="onnxruntime", device="cuda")
    with pytest.raises(ValueError, match="float32 only"):
        load_generator("fast", backend="onnxruntime", dtype="fp16")
    with pytest.raises(ValueError, match="backend must be one of"):
        load_generator("fast", backend="tensorrt")


def test_a_folder_without_onnx_is_exported_once_into_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "tiny"
    random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"])).save_pretrained(folder)
    first = load_generator(folder, backend="onnxruntime")
    assert not (folder / "onnx").exists() and first.onnx_file.is_file()
    monkeypatch.setattr("facesr_hub.onnx_export.export_onnx", lambda *a, **k: pytest.fail("exported twice"))
    assert load_generator(folder, backend="onnxruntime").onnx_file == first.onnx_file


def test_a_stale_onnx_file_is_not_used(tmp_path, faces, caplog):
    """Weights replaced without `facesr export`: the folder's ONNX file is left aside, the weights are run."""
    folder = tmp_path / "fast"
    shutil.copytree(bundled_weights_dir() / "fast", folder)
    shutil.copyfile(bundled_weights_dir() / "fast-psnr" / "model.safetensors", folder / "model.safetensors")
    assert not onnx_is_current(folder)
    with caplog.at_level(logging.WARNING, logger="facesr_hub.onnx_runtime"):
        onnx_model = load_generator(folder, backend="onnxruntime")
    assert "exported from other weights" in caplog.text and onnx_model.onnx_file != folder / ONNX_PATH
    with torch.inference_mode():
        lr = faces[(64, 64)]
        assert parity_db(onnx_model(lr), load_generator("fast-psnr", device="cpu")(lr)) >= MIN_DB


# ----- the Hub layout ---------------------------------------------------------------------------------------------
def tiny_card(model) -> object:
    return render_model_card(model, CardInfo(model_name="tiny", data=[]))


def test_pushed_repo_holds_onnx_and_the_onnxruntime_backend_uses_it(tmp_path, faces, hub_server, hub_repo_id,
                                                                     hub_cache):
    model = random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"]))
    folder = save_generator_folder(model, tmp_path / "model", tiny_card(model))
    assert (folder / ONNX_PATH).is_file() and onnx_is_current(folder)
    push_generator_folder(folder, hub_repo_id)
    commit = hub_server.commits(hub_repo_id)[0].sha
    files = hub_server.files(hub_repo_id, revision=commit)
    assert {"config.json", "model.safetensors", "README.md", ONNX_PATH} <= set(files)

    onnx_model = load_generator(hub_repo_id, revision=commit, backend="onnxruntime")
    assert ("GET", f"/{hub_repo_id}/resolve/{commit}/{ONNX_PATH}", 200) in hub_server.requests
    assert onnx_model.onnx_file.resolve().is_relative_to(hub_cache.resolve())
    assert not any(path.endswith("model.safetensors") for _, path, _ in hub_server.requests
                   if hub_repo_id in path)  # the ONNX file alone: the weights are not needed
    with torch.inference_mode():
        assert parity_db(onnx_model(faces[(48, 80)]), model(faces[(48, 80)])) >= MIN_DB


def test_facesr_export_takes_a_hub_repo_id(tmp_path, hub_server, hub_repo_id, hub_cache):
    model = random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"]))
    model.push_to_hub(hub_repo_id)  # weights and config only, as pushed before ONNX files
    assert facesr(["export", hub_repo_id, "-o", str(tmp_path)]) == 0
    folder = tmp_path / hub_repo_id.split("/")[1]
    assert (folder / ONNX_PATH).is_file() and json.loads((folder / "config.json").read_text()) == model.config


def test_without_onnxruntime_a_folder_is_saved_and_pushed_without_onnx(tmp_path, hub_server, hub_repo_id,
                                                                        monkeypatch, caplog):
    import facesr_hub.hub as hub
    import facesr_hub.onnx_export as onnx_export

    for module in (hub, onnx_export):
        monkeypatch.setattr(module, "onnx_available", lambda: False)
    model = random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"]))
    with caplog.at_level(logging.WARNING, logger="facesr_hub.onnx_export"):
        folder = save_generator_folder(model, tmp_path / "model", tiny_card(model))
    assert "onnx/onnxruntime are not installed" in caplog.text
    assert {"config.json", "model.safetensors", "README.md"} == {p.name for p in folder.iterdir()}
    push_generator_folder(folder, hub_repo_id)
    assert ONNX_PATH not in hub_server.files(hub_repo_id)


def test_a_push_brings_a_folder_saved_before_onnx_up_to_date(tmp_path, hub_server, hub_repo_id):
    model = random_weights(GENERATORS["fast"](**SMALL_KWARGS["fast"]))
    folder = save_generator_folder(model, tmp_path / "model", tiny_card(model), onnx=False)
    assert not (folder / "onnx").exists()
    push_generator_folder(folder, hub_repo_id)
    assert onnx_is_current(folder) and ONNX_PATH in hub_server.files(hub_repo_id)


# ----- the app ----------------------------------------------------------------------------------------------------
def test_app_registry_on_onnxruntime_gives_the_torch_images_at_every_fidelity(tmp_path, monkeypatch, faces):
    from PIL import Image

    from facesr_hub.app.models import ModelRegistry, discover_models
    from facesr_hub.app.service import UpscaleOptions, upscale_file

    face = tmp_path / "face.png"
    Image.fromarray((faces[(64, 64)][0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(face)
    catalog = discover_models(environ={})
    registries = {b: ModelRegistry(catalog, device="cpu", backend=b) for b in ("torch", "onnxruntime")}
    assert registries["onnxruntime"].device_label == "CPU (float32) with onnxruntime"
    for fidelity in (0.0, 0.5):  # 0.5: a weight blend of fast and fast-psnr, mixed in PyTorch on both backends
        images = [np.asarray(upscale_file(face, UpscaleOptions(model="fast", fidelity=fidelity), r).output, float)
                  for r in registries.values()]
        mse = np.mean((images[0] - images[1]) ** 2)
        assert mse == 0 or 10 * np.log10(255**2 / mse) >= 50  # 8-bit PNGs: a rare 1-level rounding difference
    assert isinstance(registries["onnxruntime"].get("fast").model, OnnxGenerator)


def test_app_backend_setting(monkeypatch):
    from facesr_hub.app import backends
    from facesr_hub.app.server import parse_settings

    assert parse_settings([], environ={}).backend == "auto"
    assert parse_settings([], environ={"FACESR_BACKEND": "torch"}).backend == "torch"
    assert parse_settings(["--backend", "onnxruntime"], environ={}).backend == "onnxruntime"
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert backends.resolve_backend("auto", cpu) == backends.CPU_BACKEND
    assert backends.resolve_backend("auto", gpu) == "torch"
    with pytest.raises(ValueError, match="CPU only"):
        backends.resolve_backend("onnxruntime", gpu)
    monkeypatch.setattr(backends, "onnx_available", lambda: False)
    assert backends.resolve_backend("auto", cpu) == "torch"
    with pytest.raises(ValueError, match=r"\[onnx\] extra"):
        backends.resolve_backend("onnxruntime", cpu)

