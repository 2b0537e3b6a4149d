"""Run the test Hub by hand: ``cd tests && uv run python -m hub_server --port 8765``."""

import argparse
import threading

from . import HubServer

parser = argparse.ArgumentParser(description="An in-memory Hugging Face Hub for tests.")
parser.add_argument("--port", type=int, default=8765)
with HubServer(port=parser.parse_args().port) as server:
    print(f"test Hub on {server.url}: export HF_ENDPOINT={server.url} HF_TOKEN=dummy; Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
