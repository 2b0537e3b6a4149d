"""FaceSR-Hub demo: `uv run app.py` locally (see --help), or the entry point of the Hugging Face Space."""

try:  # ZeroGPU Spaces: `spaces` must patch torch before anything touches CUDA.
    import spaces  # noqa: F401
except ImportError:
    pass

from facesr_hub.app import main

if __name__ == "__main__":
    main()
