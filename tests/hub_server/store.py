"""The test Hub's storage: repos with their full commit history, branches and tags, all in memory."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

USER = "user"  # the namespace every token belongs to
REPO_TYPES = ("model", "dataset", "space")
GITATTRIBUTES = b"# Test Hub: every file is a regular git blob (no LFS).\n"


class HubError(Exception):
    """An HTTP error answer, shaped like the Hub's: JSON ``{"error": ...}`` plus ``X-Error-*`` headers.

    ``code`` is the Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``): the client
    maps it to its exception classes.
    """

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


def git_blob_sha(data: bytes) -> str:
    """The sha1 git gives a blob; the Hub uses it as the ETag of a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def card_metadata(readme: bytes | str | None) -> Any:
    """The YAML front matter of a model card (``{}`` when there is none); raises ``yaml.YAMLError`` if malformed."""
    text = readme.decode() if isinstance(readme, bytes) else (readme or "")
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", text, re.S)
    return (yaml.safe_load(match.group(1)) or {}) if match else {}


def now() -> str:
    """The current UTC time as the Hub writes it: ``2024-05-01T12:00:00.000Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Commit:
    """One commit; ``files`` is the whole tree at this commit (path -> content)."""

    sha: str
    parent: str | None
    title: str
    message: str
    date: str
    files: dict[str, bytes]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str = field(default_factory=now)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit:
        """Branch, tag or full commit sha -> commit; ``RevisionNotFound`` otherwise."""
        sha = self.branches.get(revision) or self.tags.get(revision)
        if sha is None and revision in self.commits:
            sha = revision
        if sha is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return self.commits[sha]

    def history(self, revision: str) -> list[Commit]:
        """Commits reachable from ``revision``, newest first."""
        commit: Commit | None = self.resolve(revision)
        out = []
        while commit is not None:
            out.append(commit)
            commit = self.commits[commit.parent] if commit.parent else None
        return out


class HubStore:
    """Repos keyed by (repo_type, repo_id), and a log of the requests served. Guard reads with ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._counter = itertools.count()

    def repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository not found: {repo_type} {repo_id}", "RepoNotFound")
        return repo

    def create_repo(self, repo_type: str, repo_id: str, *, private: bool = False) -> Repo:
        """A new repo whose ``main`` holds one commit with a ``.gitattributes``, as on the Hub."""
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                raise HubError(409, f"You already created this {repo_type} repo")
            repo = self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
            self._add_commit(repo, "main", parent=None, title="initial commit", message="",
                             files={".gitattributes": GITATTRIBUTES})
            return repo

    def commit(self, repo: Repo, branch: str, header: dict[str, Any], operations: list[dict[str, Any]]) -> Commit:
        """Apply the NDJSON commit operations on top of ``branch`` and move the branch to the new commit."""
        with self.lock:
            if branch not in repo.branches:
                repo.resolve(branch)  # an unknown revision -> RevisionNotFound
                raise HubError(400, f"Can only commit to a branch, and {branch!r} is a tag or a commit")
            head = repo.commits[repo.branches[branch]]
            if header.get("parentCommit") not in (None, head.sha):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(head.files)
            for operation in operations:
                _apply(files, operation.get("key"), operation.get("value") or {})
            return self._add_commit(repo, branch, parent=head.sha, title=header.get("summary", ""),
                                    message=header.get("description", ""), files=files)

    def _add_commit(self, repo: Repo, branch: str, *, parent: str | None, title: str, message: str,
                    files: dict[str, bytes]) -> Commit:
        tree = "".join(f"{path}\0{git_blob_sha(data)}\n" for path, data in sorted(files.items()))
        # The counter keeps two identical commits (same parent, message and tree) distinct, as timestamps do in git.
        sha = hashlib.sha1(f"{next(self._counter)}\n{parent}\n{title}\n{message}\n{tree}".encode()).hexdigest()
        commit = repo.commits[sha] = Commit(sha, parent, title, message, now(), files)
        repo.branches[branch] = sha
        return commit


def _apply(files: dict[str, bytes], key: str | None, value: dict[str, Any]) -> None:
    """Apply one commit operation (a line of the commit body) to ``files`` in place."""
    path = value.get("path", "")
    if key == "file":
        if value.get("encoding") != "base64":
            raise HubError(400, f"{path}: unsupported encoding {value.get('encoding')!r}")
        files[path] = base64.b64decode(value["content"])
    elif key == "deletedFile":
        if files.pop(path, None) is None:
            raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
    elif key == "deletedFolder":
        doomed = [p for p in files if p.startswith(path.rstrip("/") + "/")]
        if not doomed:
            raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
        for p in doomed:
            del files[p]
    elif key == "lfsFile":
        raise HubError(400, f"{path}: the test Hub stores regular files only (its preupload never answers 'lfs')")
    else:
        raise HubError(400, f"Unknown commit operation {key!r}")
