"""Pack the GPU recipe's trained models so they fit what the device tool returns, and unpack them here.

    python tools/pack_gpu_weights.py pack --runs runs/gpu --probe SUBSET/celeba-hq-256-test --out $OUT
    uv run python tools/pack_gpu_weights.py unpack FILES_AT --runs runs/gpu

The device tool returns at most 8 files of at most 16 MiB each, 64 MiB in all; the nine models of
``tools/train_gpu.sh`` hold about 85 MiB of float32 weights (``quality``'s RRDB alone 44.5 MiB). ``pack`` stores each
model in float16 where that costs at most ``MAX_FP16_LOSS_DB`` of PSNR on the probe faces (the rule and check
``tools/ship_weights.py`` applies when bundling, run here before the float32 weights are lost) and float32 otherwise
or where ``--keep-fp32`` names it (``fast-psnr``: the CPU GAN stages start from it); should that exceed
``--max-weights-mib``, the largest models go float16 regardless, and ``transport.json`` says which. Each run folder
travels in the layout ``ship_weights.py bundle --runs`` reads (``NAME/model/``, ``NAME/train_config.json``,
``NAME/metrics.json``, ``NAME/logs/``), in one tar split into parts of at most ``--part-mib``; ``transport.json``
records each model's storage, its measured float16 cost and the tar's size and SHA-256. ``unpack`` joins the parts,
checks them against ``transport.json``, and only then extracts into ``--runs``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

from safetensors.torch import load_file, save

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ship_weights import MAX_FP16_LOSS_DB, _fp16_cost_db  # noqa: E402  (tools/ is not a package)

from facesr_hub import load_generator  # noqa: E402

#: What of a run folder travels beside the weights: its settings, final metrics and TensorBoard events (the learning
#: curve; a few hundred kB). Checkpoints and sample grids stay behind.
RUN_FILES = ("train_config.json", "metrics.json", "logs")
#: The trained model of each run. Its ``psnr-stage/`` is left behind: the GPU runs are PSNR stages only, so it holds the
#: same weights (tools/finish_gpu_run.sh links ``fast/psnr-stage`` to ``fast-psnr/model`` for ship_weights.py).
MODEL_FOLDERS = ("model",)
PART_PREFIX = "weights.tar.part-"
TRANSPORT = "transport.json"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _model_bytes(folder: Path, fp16: bool) -> bytes:
    state = load_file(folder / "model.safetensors")
    if fp16:
        state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    return save(state, {"format": "pt"})


def _storage_plan(folders: dict[str, Path], probe: Path, keep_fp32: set[str], max_weights_mib: float) -> dict:
    """Per model folder (``NAME/model``): float16 where it costs at most ``MAX_FP16_LOSS_DB``, unless kept float32;
    then, while the weights exceed ``max_weights_mib``, the largest float32 ones not kept go float16 anyway (said so:
    a model that comes back rounded beats one that does not come back)."""
    plan = {}
    for key, folder in folders.items():
        model = load_generator(folder, device="cpu")
        cost = _fp16_cost_db(model, probe)
        fp32_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        kept = key.split("/")[0] in keep_fp32
        plan[key] = {"stored_as": "float16" if not kept and cost <= MAX_FP16_LOSS_DB else "float32",
                     "fp16_cost_db": round(cost, 5), "fp32_bytes": fp32_bytes}

    def total() -> float:
        return sum(e["fp32_bytes"] / (2 if e["stored_as"] == "float16" else 1) for e in plan.values()) / 2**20

    for key in sorted(plan, key=lambda k: -plan[k]["fp32_bytes"]):
        if total() <= max_weights_mib:
            break
        if plan[key]["stored_as"] == "float32" and key.split("/")[0] not in keep_fp32:
            plan[key]["stored_as"] = "float16"
            plan[key]["note"] = f"over the float16 rule, to fit the {max_weights_mib:g} MiB transfer"
    if total() > max_weights_mib:
        raise ValueError(f"the weights need {total():.1f} MiB even in float16 beside --keep-fp32; the transfer "
                         f"allows {max_weights_mib:g}")
    return plan


def pack(runs: Path, names: list[str], probe: Path, out: Path, part_mib: float, keep_fp32: set[str],
         max_weights_mib: float = 56.0) -> dict:
    """Write ``out/weights.tar.part-NN`` and ``out/transport.json``; returns the transport record."""
    folders = {f"{name}/{sub}": runs / name / sub for name in names for sub in MODEL_FOLDERS
               if (runs / name / sub / "model.safetensors").is_file()}
    for name in names:
        if not any(key.startswith(f"{name}/") for key in folders):
            raise FileNotFoundError(f"{runs / name}: no trained model folder ({' or '.join(MODEL_FOLDERS)})")
    record: dict = {"max_fp16_loss_db": MAX_FP16_LOSS_DB,
                    "models": _storage_plan(folders, probe, keep_fp32, max_weights_mib)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key, folder in folders.items():
            fp16 = record["models"][key]["stored_as"] == "float16"
            _add_bytes(tar, f"{key}/model.safetensors", _model_bytes(folder, fp16))
            for extra in sorted(folder.iterdir()):
                if extra.is_file() and extra.name != "model.safetensors":
                    tar.add(extra, arcname=f"{key}/{extra.name}")
        for name in names:
            for file_name in RUN_FILES:
                if (runs / name / file_name).exists():
                    tar.add(runs / name / file_name, arcname=f"{name}/{file_name}")
    data = buffer.getvalue()
    part_bytes = int(part_mib * 2**20)
    out.mkdir(parents=True, exist_ok=True)
    parts = [data[i:i + part_bytes] for i in range(0, len(data), part_bytes)]
    for index, part in enumerate(parts):
        (out / f"{PART_PREFIX}{index:02d}").write_bytes(part)
    record.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), parts=len(parts))
    (out / TRANSPORT).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def unpack(files_at: Path, runs: Path) -> dict:
    """Join the parts under ``files_at`` (searched recursively), check them, extract into ``runs``."""
    transports = sorted(files_at.rglob(TRANSPORT))
    if len(transports) != 1:
        raise FileNotFoundError(f"expected one {TRANSPORT} under {files_at}, found {len(transports)}")
    record = json.loads(transports[0].read_text(encoding="utf-8"))
    parts = sorted(transports[0].parent.glob(f"{PART_PREFIX}*"))
    if len(parts) != record["parts"]:
        raise ValueError(f"{len(parts)} of {record['parts']} weight parts came back; the transfer is incomplete")
    data = b"".join(part.read_bytes() for part in parts)
    if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ValueError("the joined weight parts do not match transport.json (size or SHA-256)")
    runs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(runs, filter="data")
    (runs / TRANSPORT).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("pack", help="on the GPU machine: runs -> parts in OUT")
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--names", nargs="+", required=True)
    p.add_argument("--probe", type=Path, required=True, help="held-out HR faces for the float16 check")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--part-mib", type=float, default=15.0)
    p.add_argument("--keep-fp32", nargs="*", default=["fast-psnr"])
    p.add_argument("--max-weights-mib", type=float, default=56.0,
                   help="the weights' share of the 64 MiB the device tool returns (the report needs the rest)")
    u = verbs.add_parser("unpack", help="here: the returned files -> runs")
    u.add_argument("files_at", type=Path)
    u.add_argument("--runs", type=Path, default=Path("runs/gpu"))
    args = parser.parse_args(argv)
    try:
        if args.verb == "pack":
            record = pack(args.runs, args.names, args.probe, args.out, args.part_mib, set(args.keep_fp32),
                          args.max_weights_mib)
        else:
            record = unpack(args.files_at, args.runs)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for key, model in record["models"].items():
        note = f"; {model['note']}" if "note" in model else ""
        print(f"{key}: {model['stored_as']} (float16 cost {model['fp16_cost_db']:.4f} dB{note})")
    print(f"{record['bytes'] / 2**20:.1f} MiB in {record['parts']} part(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
