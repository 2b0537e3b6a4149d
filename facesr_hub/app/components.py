"""Gradio component tweaks the demo needs.

Gradio writes a ``.pyi`` stub beside any module that defines a component class (for its event listeners), so
component subclasses live here, alone, and ``components.pyi`` is Gradio's generated companion of this file.
"""

from __future__ import annotations

from typing import Any

import gradio as gr


class ImageFile(gr.Image):
    """``gr.Image`` that hands the uploaded file's path to our loader untouched.

    Stock ``gr.Image`` opens the file with PIL during preprocessing, so a non-image or an empty file fails inside
    Gradio with a bare "Error" before our code can say what is wrong; and it may convert the mode. Here the raw
    path goes to ``facesr_hub.images.load_image``, which reports each problem clearly and sees the 16-bit, CMYK,
    alpha or animated original. (``is_template`` makes the browser render it as a normal image component.)
    """

    is_template = True

    def preprocess(self, payload: Any) -> str | None:
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)
