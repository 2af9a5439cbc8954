"""The book's repository: its web address, derived from the checkout's git remote.

A leaf module (the standard library only): the build (:mod:`tools.build_book`) and the
coursework (:mod:`tools.coursework`) both ask it, and neither imports the other for it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def public_url(remote: str) -> str | None:
    """The web address of a git remote, or None when it is not a public web repository.

    ``git@github.com:org/book.git``, ``ssh://git@github.com/org/book`` and
    ``https://user:token@github.com/org/book.git`` all give
    ``https://github.com/org/book``; a local path or ``file://`` remote gives None.
    """
    remote = remote.strip()
    scp = re.fullmatch(r"(?:[\w.-]+@)?([\w.-]+\.[a-z]+):(?!//)(.+)", remote)
    if scp:
        host, path = scp.groups()
    else:
        parts = urlsplit(remote)
        if parts.scheme not in {"https", "http", "ssh", "git"} or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path
    path = path.strip("/").removesuffix(".git")
    if path.count("/") < 1 or "." not in host:
        return None
    return urlunsplit(("https", host, path, "", ""))


def repository_url(root: Path = ROOT) -> str | None:
    """The book's repository, derived from the checkout's git remote (``origin`` first).

    None when the checkout has no remote (or no git), or when its remote is not a web
    address; the build then leaves the repository and launch buttons out.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, check=True).stdout
    try:
        remotes = git("remote").split()
        if not remotes:
            return None
        name = "origin" if "origin" in remotes else remotes[0]
        return public_url(git("remote", "get-url", name))
    except (OSError, subprocess.CalledProcessError):
        return None
