"""Binder: the requirements match what the package needs, and the files build a working
environment."""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_requirements_are_the_current_pinned_closure():
    generated = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "binder-requirements")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert (BINDER / "requirements.txt").read_text() == generated, (
        "binder/requirements.txt is stale: regenerate it with tools/binder-requirements"
    )
    assert (
        BINDER / "runtime.txt"
    ).read_text().strip() == f"python-{sys.version_info.major}.{sys.version_info.minor}"
    assert os.access(BINDER / "postBuild", os.X_OK)
    subprocess.run(["bash", "-n", str(BINDER / "postBuild")], check=True)


@pytest.mark.slow
def test_a_fresh_environment_from_the_binder_files_loads_the_extension(tmp_path):
    """What repo2docker does, minus Docker: install the requirements, run postBuild, open a
    kernel."""
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    home = tmp_path / "home"
    home.mkdir()
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        repo,
        ignore=shutil.ignore_patterns(
            ".venv*",
            ".git",
            "__pycache__",
            ".mlops",
            "*.egg-info",
            ".pytest_cache",
            ".hypothesis",
            "ci-artifacts",
        ),
    )
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(home),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "-q", "-r", str(BINDER / "requirements.txt")],
        check=True,
        env=env,
        cwd=repo,
    )
    subprocess.run(["bash", "binder/postBuild"], check=True, env=env, cwd=repo)
    probe = subprocess.run(
        [bin_dir / "ipython", "-c", "%mlops status"],
        env=env,
        cwd=repo / "notebooks",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert (
        f"nbmlops workspace {repo / 'notebooks'}" in probe.stdout and "sqlite:///" in probe.stdout
    ), probe.stdout
    # and the quickstart runs there top to bottom in a kernel
    executed = subprocess.run(
        [
            bin_dir / "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "quickstart.ipynb",
            "--output",
            str(tmp_path / "quickstart.out.ipynb"),
        ],
        env=env,
        cwd=repo / "notebooks",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert executed.returncode == 0, executed.stderr[-2000:]
