"""The test Hub's HTTP side: the endpoints ``huggingface_hub`` calls, answered from a :class:`HubStore`.

Paths, payloads and headers follow what the client sends and parses (``hf_api.py``, ``_commit_api.py``,
``file_download.py``, ``utils/_http.py`` in huggingface_hub 2.x). Handlers return ``(status, body, headers)``;
a ``bytes`` body is sent as is, anything else as JSON.
"""

from __future__ import annotations

import json
import re
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from .store import REPO_TYPES, USER, HubError, HubStore, Repo, card_metadata, git_blob_sha

Answer = tuple[int, Any, dict[str, str]]

_API = r"/api/(?P<repo_type>models|datasets|spaces)/(?P<repo_id>[^/]+/[^/]+)"
_REV = r"(?P<rev>[^/]+)"  # the client percent-encodes revisions with safe="", so they never hold a raw "/"
ROUTES: list[tuple[str, str, str]] = [  # (method, path regex, handler method); GET routes also answer HEAD
    ("GET", r"/api/whoami-v2", "whoami"),
    ("POST", r"/api/repos/create", "create_repo"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("GET", _API + r"(?:/revision/" + _REV + ")?", "repo_info"),
    ("GET", _API + r"/tree/" + _REV + r"(?:/(?P<path>.+))?", "tree"),
    ("GET", _API + r"/commits/" + _REV, "commits"),
    ("GET", _API + r"/refs", "refs"),
    ("POST", _API + r"/preupload/" + _REV, "preupload"),
    ("POST", _API + r"/commit/" + _REV, "commit"),
    ("POST", _API + r"/tag/" + _REV, "create_tag"),
    ("POST", _API + r"/branch/" + _REV, "create_branch"),
    ("GET", r"/(?:(?P<repo_type>datasets|spaces)/)?(?P<repo_id>[^/]+/[^/]+)/resolve/" + _REV + r"/(?P<path>.+)",
     "resolve"),
]


class HubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: HubStore) -> None:
        super().__init__(address, HubRequestHandler)
        self.store = store
        self.url = f"http://{address[0]}:{self.server_address[1]}"


class HubRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive like the Hub; every answer carries a Content-Length
    server: HubHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: ``HubStore.requests`` records every request instead."""

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        try:
            for route_method, pattern, name in ROUTES:
                match = re.fullmatch(pattern, url.path)
                if match and route_method in (method, "GET" if method == "HEAD" else None):
                    args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                    if "repo_id" in args:  # "models" (or nothing, in /resolve URLs) -> "model"
                        args["repo_type"] = args.get("repo_type", "models").removesuffix("s")
                    status, body, headers = getattr(self, name)(**args)
                    break
            else:
                raise HubError(404, f"The test Hub has no route {method} {url.path}")
        except HubError as error:
            status, body, headers = error.status, {"error": error.message}, dict(error.headers)
            headers["X-Error-Message"] = " ".join(error.message.split()).encode("ascii", "replace").decode()
            if error.code:
                headers["X-Error-Code"] = error.code
        except Exception:  # a bug here: answer 500 with the traceback rather than drop the connection
            status, body, headers = 500, {"error": f"test Hub bug:\n{traceback.format_exc()}"}, {}
        with self.server.store.lock:
            self.server.store.requests.append((method, url.path, status))
        self._send(method, status, body, headers)

    def _send(self, method: str, status: int, body: Any, headers: dict[str, str]) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        headers = {"Content-Type": "application/json", **headers} if not isinstance(body, bytes) else headers
        for name, value in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def _json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError as error:
            raise HubError(400, f"Invalid JSON body: {error}") from error

    def _require_token(self) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Write calls need an 'Authorization: Bearer <token>' header (set HF_TOKEN)")

    def _url(self, repo: Repo) -> str:
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        return f"{self.server.url}/{prefix}{repo.repo_id}"

    # --- endpoints, in ROUTES order -----------------------------------------------------------------------------

    def whoami(self) -> Answer:
        self._require_token()
        return 200, {"type": "user", "name": USER, "fullname": "Test User", "orgs": [],
                     "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}}, {}

    def create_repo(self) -> Answer:
        self._require_token()
        payload = self._json()
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES or not payload.get("name"):
            raise HubError(400, f"Bad create payload: {payload}")
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        private = payload.get("visibility", "private" if payload.get("private") else "public") == "private"
        store = self.server.store
        with store.lock:
            if existing := store.repos.get((repo_type, repo_id)):  # the client's exist_ok reads "url" from the 409
                return 409, {"error": f"You already created this {repo_type} repo", "url": self._url(existing)}, {}
            repo = store.create_repo(repo_type, repo_id, private=private)
        return 200, {"url": self._url(repo), "name": repo_id, "id": repo_id}, {}

    def validate_yaml(self) -> Answer:
        """Accept a card whose front matter is a mapping with string license / library_name / pipeline_tag."""
        try:
            metadata = card_metadata(self._json().get("content", ""))
        except yaml.YAMLError as error:
            return 400, {"errors": [{"message": f"Invalid YAML in the model card: {error}"}]}, {}
        if not isinstance(metadata, dict):
            return 400, {"errors": [{"message": "The YAML metadata must be a mapping"}]}, {}
        errors = [{"message": f'"{key}" must be a string'} for key in ("license", "library_name", "pipeline_tag")
                  if key in metadata and not isinstance(metadata[key], str)]
        tags = metadata.get("tags", [])
        if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
            errors.append({"message": '"tags" must be a list of strings'})
        warnings = [] if metadata else [{"message": "empty or missing yaml metadata in repo card"}]
        return (400 if errors else 200), {"errors": errors, "warnings": warnings}, {}

    def repo_info(self, repo_type: str, repo_id: str, rev: str = "main") -> Answer:
        repo = self.server.store.repo(repo_type, repo_id)
        commit = repo.resolve(rev)
        try:
            metadata = card_metadata(commit.files.get("README.md"))
        except yaml.YAMLError:
            metadata = {}  # the client validates cards before committing; a raw commit may still hold a bad one
        metadata = metadata if isinstance(metadata, dict) else {}
        return 200, {
            "id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.sha, "private": repo.private,
            "disabled": False, "gated": False, "createdAt": repo.created_at, "lastModified": commit.date,
            "siblings": [{"rfilename": path} for path in sorted(commit.files)],
            "cardData": metadata, "tags": metadata.get("tags", []), "library_name": metadata.get("library_name"),
            "pipeline_tag": metadata.get("pipeline_tag"),
        }, {}

    def tree(self, repo_type: str, repo_id: str, rev: str, path: str = "") -> Answer:
        """Files and folders under ``path``: direct children, or everything with ``?recursive=true``. One page."""
        commit = self.server.store.repo(repo_type, repo_id).resolve(rev)
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        entries: dict[str, dict[str, Any]] = {}
        for file_path, data in sorted(commit.files.items()):
            if not file_path.startswith(prefix):
                continue
            parts = file_path[len(prefix):].split("/")
            for depth in range(1, len(parts) if recursive else min(len(parts), 2)):  # the folders on the way
                folder = prefix + "/".join(parts[:depth])
                entries.setdefault(folder, {"type": "directory", "path": folder, "oid": "0" * 40, "size": 0})
            if recursive or len(parts) == 1:
                entries[file_path] = {"type": "file", "path": file_path, "size": len(data), "oid": git_blob_sha(data)}
        if prefix and not entries:
            raise HubError(404, f"{path} does not exist on {rev}", "EntryNotFound")
        return 200, list(entries.values()), {}

    def commits(self, repo_type: str, repo_id: str, rev: str) -> Answer:
        history = self.server.store.repo(repo_type, repo_id).history(rev)
        return 200, [{"id": c.sha, "title": c.title, "message": c.message, "date": c.date,
                      "authors": [{"user": USER}]} for c in history], {}

    def refs(self, repo_type: str, repo_id: str) -> Answer:
        repo = self.server.store.repo(repo_type, repo_id)

        def listing(kind: str, names: dict[str, str]) -> list[dict[str, str]]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha} for n, sha in sorted(names.items())]

        return 200, {"branches": listing("heads", repo.branches), "tags": listing("tags", repo.tags),
                     "converts": [], "pullRequests": []}, {}

    def preupload(self, repo_type: str, repo_id: str, rev: str) -> Answer:
        """Every file goes in the commit body ("regular"); known files get their oid so unchanged ones are skipped."""
        self._require_token()
        commit = self.server.store.repo(repo_type, repo_id).resolve(rev)
        files = []
        for entry in self._json().get("files", []):
            info = {"path": entry["path"], "uploadMode": "regular", "shouldIgnore": False}
            if entry["path"] in commit.files:
                info["oid"] = git_blob_sha(commit.files[entry["path"]])
            files.append(info)
        return 200, {"files": files, "commitOid": commit.sha}, {}

    def commit(self, repo_type: str, repo_id: str, rev: str) -> Answer:
        """NDJSON body: a ``header`` line (summary, description, parentCommit), then one line per operation."""
        self._require_token()
        if self.query.get("create_pr"):
            raise HubError(400, "The test Hub does not support pull requests")
        try:
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise HubError(400, f"The commit body is not NDJSON: {error}") from error
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "A commit body starts with a header line")
        repo = self.server.store.repo(repo_type, repo_id)
        commit = self.server.store.commit(repo, rev, lines[0]["value"], lines[1:])
        return 200, {"success": True, "commitOid": commit.sha, "commitUrl": f"{self._url(repo)}/commit/{commit.sha}",
                     "pullRequestUrl": None}, {}

    def create_tag(self, repo_type: str, repo_id: str, rev: str) -> Answer:
        self._require_token()
        repo, tag = self.server.store.repo(repo_type, repo_id), self._json().get("tag", "")
        with self.server.store.lock:
            sha = repo.resolve(rev).sha
            if not tag:
                raise HubError(400, "No tag name given")
            if tag in repo.tags or tag in repo.branches:
                raise HubError(409, f"Tag {tag!r} already exists")
            repo.tags[tag] = sha
        return 200, {"success": True}, {}

    def create_branch(self, repo_type: str, repo_id: str, rev: str) -> Answer:
        self._require_token()
        repo = self.server.store.repo(repo_type, repo_id)
        with self.server.store.lock:
            if rev in repo.branches or rev in repo.tags:
                raise HubError(409, f"Reference {rev!r} already exists")
            repo.branches[rev] = repo.resolve(self._json().get("startingPoint") or "main").sha
        return 200, {"success": True}, {}

    def resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> Answer:
        """A file's bytes, with the headers ``hf_hub_download`` needs: X-Repo-Commit, ETag, Content-Length."""
        commit = self.server.store.repo(repo_type, repo_id).resolve(rev)
        if path not in commit.files:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        data = commit.files[path]
        return 200, data, {"X-Repo-Commit": commit.sha, "ETag": f'"{git_blob_sha(data)}"',
                           "Content-Type": "application/octet-stream"}
