"""Make the working tree the device tool sends small for one GPU call, and put it back after.

    uv run python tools/slim_tree.py slim       # before the GPU calls: the tree drops from ~74 MiB to ~5 MiB
    uv run python tools/slim_tree.py restore    # after them (the bench call carries the bundled `fast` it needs)
    uv run python tools/slim_tree.py show       # what is slimmed now

The device tool sends tracked and untracked-not-ignored files plus `carry`, 64 MiB a call. Most of the tree is the
bundled weights (`quality` alone 22 MiB) and the docs' PNG grids: more than a call may send. The train call needs
neither (it trains from scratch or from `.gpu-init`, and scores only what it trained), but it needs room for the data
subset and, to continue a GPU run of an earlier session, that run's weights; the bench call carries the one bundled
model it runs. ``slim`` takes those paths out of git's index
(``git rm --cached``: the files stay on disk) and lists them in ``.git/info/exclude``, so they are neither tracked
nor untracked-not-ignored; ``restore`` puts the index entries back from HEAD and removes the exclude lines. Nothing
is committed either way. ``slim`` refuses when those paths hold uncommitted changes, so that ``restore`` gives back
exactly what was there.
"""

from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from device_limits import sent_size  # noqa: E402  (tools/ is not a package)

REPO = Path(__file__).resolve().parent.parent
#: What the train call does not need: the bundled weights and the docs' grids (git pathspecs).
SLIM_PATHS = ("facesr_hub/weights", "docs/results/*.png")
BEGIN, END = "# tools/slim_tree.py: begin", "# tools/slim_tree.py: end"
#: While slimmed, the index holds the deletions of SLIM_PATHS: a plain `git commit` would commit them. This hook stops
#: any commit until `restore`.
GUARD = f"""#!/bin/sh
{BEGIN} (this hook is removed by restore)
echo "the tree is slimmed for a GPU call: run tools/slim_tree.py restore before committing" >&2
exit 1
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def git_path(repo: Path, name: str) -> Path:
    """``name`` inside the repository's git directory (a worktree's or submodule's too)."""
    path = Path(git(repo, "rev-parse", "--git-path", name).strip())
    return path if path.is_absolute() else repo / path


def exclude_file(repo: Path) -> Path:
    return git_path(repo, "info/exclude")


def is_slim(repo: Path = REPO) -> bool:
    """True while ``slim`` is in effect (its exclude block is present)."""
    path = exclude_file(repo)
    return path.exists() and BEGIN in path.read_text()


def slimmed_bytes(repo: Path = REPO) -> int:
    """Bytes of HEAD's files under ``SLIM_PATHS``: what ``restore`` adds back to what a device call sends (ignored
    files there, such as a local grid, never travel and are not counted)."""
    names = git(repo, "ls-tree", "-r", "-z", "--name-only", "HEAD").split("\0")  # (ls-tree takes no globs)
    slimmed = [name for name in names if name and any(
        fnmatch.fnmatchcase(name, pattern) or name.startswith(f"{pattern}/") for pattern in SLIM_PATHS)]
    return sum(sent_size(repo / name) for name in slimmed if (repo / name).is_file())


def slim(repo: Path = REPO) -> list[str]:
    """Untrack and exclude ``SLIM_PATHS``; returns the files taken out of the index."""
    if is_slim(repo):
        raise RuntimeError("the tree is slimmed already; `tools/slim_tree.py restore` first")
    if changed := git(repo, "status", "--porcelain", "--", *SLIM_PATHS).strip():
        raise RuntimeError(f"commit or stash these first, so that restore gives them back as they are:\n{changed}")
    files = [name for name in git(repo, "ls-files", "-z", "--", *SLIM_PATHS).split("\0") if name]
    git(repo, "rm", "-r", "-q", "--cached", "--", *SLIM_PATHS)
    path = exclude_file(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text() if path.exists() else ""
    block = "\n".join([BEGIN, *(f"/{pattern}" for pattern in SLIM_PATHS), END]) + "\n"
    path.write_text(before + ("" if not before or before.endswith("\n") else "\n") + block)
    hook = git_path(repo, "hooks/pre-commit")
    if not hook.exists():  # a hook of the user's own is left alone (and then nothing guards the commit)
        hook.parent.mkdir(parents=True, exist_ok=True)
        hook.write_text(GUARD)
        hook.chmod(0o755)
    return files


def restore(repo: Path = REPO) -> None:
    """Undo ``slim``: index entries back from HEAD, the exclude block removed. A no-op when not slimmed."""
    path = exclude_file(repo)
    if not is_slim(repo):
        return
    git(repo, "reset", "-q", "HEAD", "--", *SLIM_PATHS)
    text = path.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    path.write_text(text[:start] + text[end:].lstrip("\n"))
    hook = git_path(repo, "hooks/pre-commit")
    if hook.exists() and BEGIN in hook.read_text():
        hook.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["slim", "restore", "show"])
    args = parser.parse_args(argv)
    if args.action == "slim":
        try:
            files = slim()
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"slimmed: {len(files)} files out of the index (still on disk); `tools/slim_tree.py restore` after the "
              "GPU calls, before anything is committed")
    elif args.action == "restore":
        restore()
        print("restored")
    else:
        print("slim: " + ", ".join(SLIM_PATHS) if is_slim() else "not slimmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
