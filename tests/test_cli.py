"""The `facesr upscale` command: folders, naming, per-file errors and exit codes."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from facesr_hub import FastGenerator
from facesr_hub.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """No bundled weights yet: a tiny random FastGenerator saved the way trained ones are."""
    torch.manual_seed(0)
    model = FastGenerator(num_features=4, num_convs=2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    folder = tmp_path_factory.mktemp("model")
    model.save_pretrained(folder)
    return folder


def _photo(path: Path, size=(8, 6), mode="RGB", colour=(200, 100, 50)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_folder_with_a_corrupt_file(tmp_path, model_dir, capsys):
    inputs = tmp_path / "in"
    _photo(inputs / "good.png")
    _photo(inputs / "nested" / "deeper" / "face.jpg", size=(5, 7))
    corrupt = inputs / "broken.jpg"
    corrupt.write_text("not a jpeg at all")
    (inputs / "readme.txt").write_text("not an image extension: skipped")
    out = tmp_path / "out"

    code = main(["upscale", str(inputs), "-o", str(out), "--model", str(model_dir), "--device", "cpu"])

    assert code == 1
    errors = _error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and errors[0].startswith(f"error: {corrupt}: ") and "not an image" in errors[0]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["good_x4.png", "nested/deeper/face_x4.png"]
    with Image.open(out / "good_x4.png") as image:
        assert image.format == "PNG" and image.size == (32, 24) and image.mode == "RGB"
    with Image.open(out / "nested" / "deeper" / "face_x4.png") as image:
        assert image.size == (20, 28)


def test_all_good_exits_zero_and_keeps_modes(tmp_path, model_dir, capsys):
    rgba = _photo(tmp_path / "logo.png", mode="RGBA", colour=(10, 20, 30, 128))
    grey = _photo(tmp_path / "grey.png", mode="L", colour=90)
    out = tmp_path / "out"
    code = main(["upscale", str(rgba), str(grey), "-o", str(out), "--model", str(model_dir), "--device", "cpu",
                 "--tile", "4", "--tile-overlap", "4"])
    assert code == 0 and not _error_lines(capsys.readouterr().err)
    with Image.open(out / "logo_x4.png") as image:
        assert image.mode == "RGBA" and image.size == (32, 24)
    with Image.open(out / "grey_x4.png") as image:
        assert image.mode == "L"


def test_same_stems_never_overwrite_each_other(tmp_path, model_dir):
    first = _photo(tmp_path / "a" / "x.png", colour=(255, 0, 0))
    _photo(tmp_path / "b" / "x.png", colour=(0, 255, 0))
    _photo(tmp_path / "a" / "x.jpg", colour=(0, 0, 255))
    out = tmp_path / "out"
    code = main(["upscale", str(tmp_path / "a"), str(tmp_path / "b"), str(first), "-o", str(out),
                 "--model", str(model_dir), "--device", "cpu"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["x-2_x4.png", "x-3_x4.png", "x-4_x4.png", "x_x4.png"]


def test_outputs_inside_an_input_folder_are_not_read_again(tmp_path, model_dir):
    _photo(tmp_path / "face.png")
    args = ["upscale", str(tmp_path), "-o", str(tmp_path / "out"), "--model", str(model_dir), "--device", "cpu"]
    assert main(args) == 0
    assert main(args) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["face_x4.png"]


def test_missing_input_and_no_images(tmp_path, model_dir, capsys):
    good = _photo(tmp_path / "good.png")
    code = main(["upscale", str(good), str(tmp_path / "nope.png"), "-o", str(tmp_path / "out"),
                 "--model", str(model_dir), "--device", "cpu"])
    assert code == 1 and (tmp_path / "out" / "good_x4.png").is_file()
    assert _error_lines(capsys.readouterr().err) == [f"error: {tmp_path / 'nope.png'}: no such file or directory"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["upscale", str(empty), "-o", str(tmp_path / "out2"), "--model", str(model_dir)]) == 1
    assert "no image files found" in capsys.readouterr().err


def test_too_large_input_is_one_error(tmp_path, model_dir, capsys):
    big = _photo(tmp_path / "big.png", size=(40, 30))
    code = main(["upscale", str(big), "-o", str(tmp_path / "out"), "--model", str(model_dir), "--device", "cpu",
                 "--max-pixels", "1000"])
    assert code == 1
    assert _error_lines(capsys.readouterr().err) == [
        f"error: {big}: 40x30 (1,200 pixels) is above the limit of 1,000 pixels; raise max_pixels to allow it"]


@pytest.mark.parametrize("model_args, words", [
    (["--model", "fast"], "architecture without bundled weights"),
    (["--model", "no-such-model"], "neither a bundled model"),
    (["--model", "/nonexistent/model"], "nor a folder, nor a Hub repo id"),
    (["--model", "BROKEN_DIR"], "does not fit FastGenerator"),
])
def test_model_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, model_args, words):
    monkeypatch.setenv("FACESR_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    broken = tmp_path / "broken"
    FastGenerator(num_features=4, num_convs=2).save_pretrained(broken)
    FastGenerator(num_features=8, num_convs=2).save_pretrained(tmp_path / "other")
    (tmp_path / "other" / "model.safetensors").replace(broken / "model.safetensors")
    model_args = [str(broken) if arg == "BROKEN_DIR" else arg for arg in model_args]
    good = _photo(tmp_path / "good.png")
    code = main(["upscale", str(good), "-o", str(tmp_path / "out"), *model_args])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and words in err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message for a machine without a GPU")
def test_cuda_without_a_gpu_exits_2(tmp_path, model_dir, capsys):
    good = _photo(tmp_path / "good.png")
    assert main(["upscale", str(good), "-o", str(tmp_path / "out"), "--model", str(model_dir), "--device", "cuda"]) == 2
    assert _error_lines(capsys.readouterr().err) == [
        "error: device 'cuda' was requested but no CUDA GPU is available; use 'cpu' or 'auto'"]


@pytest.mark.parametrize("bad", [["--tile", "-1"], ["--batch-size", "0"], ["--tile-overlap", "x"], []])
def test_bad_arguments_are_usage_errors(tmp_path, bad):
    args = ["upscale", str(tmp_path), "-o", str(tmp_path / "out"), *bad] if bad else ["upscale", str(tmp_path)]
    with pytest.raises(SystemExit) as excinfo:
        main(args)
    assert excinfo.value.code == 2


def test_console_script_end_to_end(tmp_path, model_dir):
    _photo(tmp_path / "in" / "good.png")
    (tmp_path / "in" / "bad.jpg").write_text("text")
    script = Path(sys.executable).with_name("facesr")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "facesr_hub.cli"]
    result = subprocess.run([*command, "upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                             "--model", str(model_dir), "--device", "cpu"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert _error_lines(result.stderr) == [f"error: {tmp_path / 'in' / 'bad.jpg'}: not an image, or a format "
                                           "Pillow cannot read"]
    assert (tmp_path / "out" / "good_x4.png").is_file()
