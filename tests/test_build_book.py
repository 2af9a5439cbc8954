"""The website build (tools/build_book.py): the repository and launch buttons, and
the editions built at the same time.

No button may lead to a placeholder: the repository's address comes from the
checkout's git remote, and a checkout without one gets no repository or launch
buttons (the download buttons stay).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from helpers.languages import LANGUAGES
from tools import build_book, notebooks_bundle

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:org/book.git", "https://github.com/org/book"),
    ("https://github.com/org/book.git", "https://github.com/org/book"),
    ("https://user:secret@gitlab.com/group/book/", "https://gitlab.com/group/book"),
    ("ssh://git@github.com/org/book", "https://github.com/org/book"),
    ("/srv/git/book.git", None),
    ("file:///srv/git/book.git", None),
    ("../book", None),
    ("https://github.com/", None),
])
def test_public_url_of_a_remote(remote, url):
    assert build_book.public_url(remote) == url


def _git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


def test_repository_url_comes_from_the_checkout(tmp_path):
    assert build_book.repository_url(tmp_path) is None  # not a git checkout
    _git(tmp_path, "init", "-q")
    assert build_book.repository_url(tmp_path) is None  # no remote
    _git(tmp_path, "remote", "add", "mirror", "https://example.org/a/mirror.git")
    assert build_book.repository_url(tmp_path) == "https://example.org/a/mirror"
    _git(tmp_path, "remote", "add", "origin", "git@github.com:org/book.git")
    assert build_book.repository_url(tmp_path) == "https://github.com/org/book"


def test_config_names_no_repository_address():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert "url" not in config.get("repository", {})
    assert "launch_buttons" not in config
    assert "use_repository_button" not in config.get("html", {})


def _theme_options(lang: str, repository: str | None) -> dict:
    """The theme options Sphinx receives, merged by Jupyter Book as in a real build."""
    from jupyter_book.config import get_final_config

    overrides = build_book.sphinx_overrides(lang, ROOT / "_build", True, repository)
    config, _ = get_final_config(user_yaml=ROOT / "_config.yml", cli_config=overrides,
                                 sourcedir=ROOT / "book" / lang)
    return config["html_theme_options"]


@pytest.mark.parametrize("lang", sorted(build_book.EDITIONS))
def test_without_a_remote_no_repository_or_launch_buttons(lang):
    options = _theme_options(lang, None)
    assert not options.get("repository_url")
    assert not options.get("use_repository_button")
    assert not options.get("launch_buttons", {}).get("binderhub_url")
    assert options["path_to_docs"] == f"book/{lang}"
    assert options["search_bar_text"] == build_book.EDITIONS[lang]["html_theme_options"][
        "search_bar_text"]


@pytest.mark.parametrize("lang", sorted(build_book.EDITIONS))
def test_with_a_remote_the_buttons_open_that_repository(lang):
    options = _theme_options(lang, "https://github.com/org/book")
    assert options["repository_url"] == "https://github.com/org/book"
    assert options["use_repository_button"] is True
    assert options["launch_buttons"]["binderhub_url"] == build_book.BINDERHUB_URL
    assert options["path_to_docs"] == f"book/{lang}"


def test_each_edition_has_its_own_execution_cache():
    # The editions are built at the same time; one shared jupyter-cache database would
    # be written by two processes at once.
    paths = {build_book.sphinx_overrides(lang, ROOT / "_build", True)["nb_execution_cache_path"]
             for lang in build_book.EDITIONS}
    assert len(paths) == len(build_book.EDITIONS)


def test_one_job_builds_the_editions_in_turn_and_counts_the_failures(monkeypatch):
    built = []

    def fake_build(lang, strict, build=None, base_url=None):
        built.append((lang, strict))
        return int(lang == "zh")

    monkeypatch.setattr(build_book, "build_edition", fake_build)
    assert build_book.build_editions(["en", "zh"], True, jobs=1) == 1
    assert built == [("en", True), ("zh", True)]


def test_a_worker_reports_an_edition_that_raises_as_a_failure_with_its_log(tmp_path,
                                                                          monkeypatch):
    # The worker sets the build folder of its process; restore this process's afterwards.
    monkeypatch.setattr(build_book, "BUILD", build_book.BUILD)
    monkeypatch.setattr(build_book, "HTML", build_book.HTML)
    failures, log = build_book._build_edition_logged("xx", True, tmp_path)
    assert failures == 1
    assert "edition xx: KeyError" in log


def test_each_edition_keeps_its_executed_notebooks_in_its_own_folder(tmp_path):
    # The editions' notebooks have the same names; built at the same time, one edition
    # must never offer the other's notebook (book/_ext/notebook_downloads.py).
    import importlib.util
    from types import SimpleNamespace

    from myst_nb.core.config import NbParserConfig

    spec = importlib.util.spec_from_file_location(
        "notebook_downloads", ROOT / "book" / "_ext" / "notebook_downloads.py")
    downloads = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(downloads)
    folders = {}
    for lang in ("en", "zh"):
        shared = tmp_path / "html" / "jupyter_execute"  # what myst-nb sets for both
        app = SimpleNamespace(outdir=str(tmp_path / "html" / lang),
                              env=SimpleNamespace(mystnb_config=NbParserConfig(
                                  output_folder=str(shared))))
        downloads.edition_output_folder(app)
        folders[lang] = Path(app.env.mystnb_config.output_folder)
        (folders[lang]).mkdir(parents=True)
        (folders[lang] / "page.ipynb").write_text(lang)
        assert downloads._executed(app, "page").read_text() == lang
    assert folders["en"] != folders["zh"]
    assert folders["en"].parent == folders["zh"].parent == tmp_path / "html" / "jupyter_execute"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_base_url_publishes_the_edition_and_its_notebooks_install_from_it(lang, tmp_path):
    base = "https://books.example.org/l1"
    overrides = build_book.sphinx_overrides(lang, tmp_path, strict=True, base_url=base)
    assert overrides["html_baseurl"] == f"{base}/{lang}/"
    wheel_url = f"{base}/{notebooks_bundle.wheel_name()}"
    assert repr([wheel_url]) in overrides["notebook_setup_cell"]
    plain = build_book.sphinx_overrides(lang, tmp_path, strict=True)
    assert "html_baseurl" not in plain and wheel_url not in plain["notebook_setup_cell"]
