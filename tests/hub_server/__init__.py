"""A small in-memory Hugging Face Hub that the real ``huggingface_hub`` client talks to over HTTP, for tests.

It serves what ``create_repo``, ``upload_file`` / ``upload_folder`` / ``create_commit`` / ``push_to_hub`` (every
file a regular git blob: no LFS, no Xet), ``create_tag``, ``create_branch``, ``hf_hub_download``,
``snapshot_download``, ``model_info`` / ``repo_info``, ``list_repo_tree``, ``list_repo_commits``,
``list_repo_refs`` and ``whoami`` use. Errors carry the Hub's ``X-Error-Code`` so the client raises its own typed
exceptions (``RepositoryNotFoundError``, ``RevisionNotFoundError``, ``RemoteEntryNotFoundError``). Every repo keeps
its full commit history; a revision is a branch, a tag or a full 40-hex commit sha. Write calls need an
``Authorization: Bearer <any token>`` header; reads need none. Repo ids are ``namespace/name``
(``create_repo("name")`` puts the repo under ``user/``).

``tests/conftest.py`` points the client at one server per test session (fixture ``hub_server``). To poke at it by
hand: ``cd tests && uv run python -m hub_server --port 8765``.
"""

from __future__ import annotations

import threading

from .routes import HubHTTPServer
from .store import USER, Commit, HubError, HubStore, Repo, card_metadata, git_blob_sha

__all__ = ["USER", "Commit", "HubError", "HubServer", "HubStore", "Repo", "card_metadata", "git_blob_sha"]


class HubServer:
    """A local Hub on ``127.0.0.1``: point ``HF_ENDPOINT`` at :attr:`url`, then read back what was pushed.

    Use it as a context manager (``with HubServer() as hub: ...``); ``port=0`` picks any free port. Set
    ``HF_ENDPOINT`` before ``huggingface_hub`` is first imported: the client reads it only then.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = HubStore()
        self._httpd = HubHTTPServer((host, port), self.store)
        self.url: str = self._httpd.url
        self._thread: threading.Thread | None = None

    def start(self) -> HubServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="test-hub", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- read-back helpers for tests ----------------------------------------------------------------------------

    def repo(self, repo_id: str, *, repo_type: str = "model") -> Repo:
        """The stored repo (``KeyError`` if it was never created)."""
        return self.store.repos[(repo_type, repo_id)]

    def commits(self, repo_id: str, *, revision: str = "main", repo_type: str = "model") -> list[Commit]:
        """Commits reachable from ``revision``, newest first; the last one is the repo's initial commit."""
        with self.store.lock:
            return self.repo(repo_id, repo_type=repo_type).history(revision)

    def files(self, repo_id: str, *, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """The whole tree at ``revision`` (branch, tag or sha): path -> content."""
        with self.store.lock:
            return dict(self.repo(repo_id, repo_type=repo_type).resolve(revision).files)

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request answered so far, oldest first."""
        with self.store.lock:
            return list(self.store.requests)

    def server_errors(self) -> list[tuple[str, str, int]]:
        """Requests this server answered with a 5xx: always a bug in the test Hub."""
        return [r for r in self.requests if r[2] >= 500]
