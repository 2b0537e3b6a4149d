"""Pieces of ``python -m facesr_hub.evaluate``: contenders, the scoring loop, speed, overlap check, table, grid."""

from .contenders import Contender, load_baseline, load_contenders
from .grid import LABEL_HEIGHT, comparison_grid, grid_size
from .overlap import OverlapReport, TrainingOverlapError, check_no_training_overlap
from .report import format_table, to_json_dict, write_json
from .runner import METRIC_KEYS, Evaluation, Row, evaluate
from .speed import Speed, cpu_ms_per_image, cuda_images_per_second, measure_gmacs, measure_speed

__all__ = ["LABEL_HEIGHT", "METRIC_KEYS", "Contender", "Evaluation", "OverlapReport", "Row", "Speed",
           "TrainingOverlapError", "check_no_training_overlap", "comparison_grid", "cpu_ms_per_image",
           "cuda_images_per_second", "evaluate", "format_table", "grid_size", "load_baseline", "load_contenders",
           "measure_gmacs", "measure_speed", "to_json_dict", "write_json"]
