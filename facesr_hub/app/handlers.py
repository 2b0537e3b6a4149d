"""How the Gradio handlers run: on a ZeroGPU Space's GPU when there is one, and with every failure turned into a
clear ``gr.Error`` (never a stack trace, never the input echoed back as if it had worked)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gradio as gr
import torch

from ..generators import CheckpointError
from ..images import ImageReadError, ImageTooLargeError
from .models import ModelUnavailableError

try:  # On a ZeroGPU Space, `spaces.GPU` attaches a GPU for the duration of the call; elsewhere it is absent.
    import spaces
except ImportError:
    spaces = None

logger = logging.getLogger(__name__)


def on_gpu(duration: int) -> Callable[[Callable], Callable]:
    """``@spaces.GPU(duration=...)`` when the ``spaces`` package is installed, else a no-op decorator."""
    if spaces is None:
        return lambda fn: fn
    return spaces.GPU(duration=duration)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every failure into a ``gr.Error`` with a readable message (never a stack trace, never a silent echo)."""
    try:
        yield
    except gr.Error:
        raise
    except torch.cuda.OutOfMemoryError:
        raise gr.Error("The GPU ran out of memory for this image; try a smaller image.", title="Out of memory",
                       print_exception=False) from None
    except (ImageReadError, ImageTooLargeError) as error:
        raise gr.Error(html.escape(str(error)), title="Cannot use this file", print_exception=False) from None
    except (ModelUnavailableError, CheckpointError) as error:
        raise gr.Error(html.escape(str(error)), title="Model unavailable", print_exception=False) from None
    except ValueError as error:
        raise gr.Error(html.escape(str(error)), title="Invalid input", print_exception=False) from None
    except Exception as error:  # a bug: log it in full for us, tell the user briefly, and still fail the request
        logger.exception("upscaling failed")
        raise gr.Error(f"Upscaling failed unexpectedly ({type(error).__name__}); the details are in the server log.",
                       print_exception=False) from None
