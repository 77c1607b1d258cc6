"""`pip install .` (a wheel, not the source tree) gives a `concierge` command that starts like `python -m bot`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Not copied for the build: environments, caches, earlier build output (an in-tree build ships a stale build/lib).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", ".ci", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "data"
)
# Run inside the installed environment, from a folder that holds no Concierge source.
OPEN_THE_APP = """
import asyncio, json
import bot, tools
from bot import app
from bot.settings import load_settings

async def main():
    settings = load_settings()
    async with app.open_app(settings) as opened:
        restaurants = await opened.store.restaurants.count()
    print(json.dumps({
        "bot": bot.__file__,
        "tools": tools.__file__,
        "prompt": app.load_prompt(settings).template,
        "restaurants": restaurants,
    }))

asyncio.run(main())
"""


class Installed(NamedTuple):
    """The wheel built from this checkout and the bin folder of a fresh environment it is installed in."""

    wheel: Path
    bin: Path


def run(command: list[str | Path], *, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing its text output."""
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel from a copy of this checkout and install it alone into a fresh virtual environment."""
    base = tmp_path_factory.mktemp("install")
    source, wheels, venv = base / "source", base / "wheels", base / "venv"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    built = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, source],
        cwd=base,
        env=env,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("concierge_bot-*.whl")
    made = run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base, env=env)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    added = run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel],
        cwd=base,
        env=env,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    # The dependencies come from this environment: plain lines of a .pth file are appended to sys.path, and the .pth
    # files found there are not processed, so this checkout's editable install does not come along.
    site_packages = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base, env=env)
    assert site_packages.returncode == 0 and site_packages.stdout.strip(), site_packages.stderr
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site_packages.stdout.strip()) / "concierge_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return Installed(wheel=wheel, bin=venv / "bin")


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The environment without any Concierge setting (nor a PYTHONPATH leading back to this checkout)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in Settings.model_fields and name not in ("PYTHONPATH", "PYTHONHOME")
    }


@pytest.mark.parametrize(
    ("env", "named"),
    [({}, "OPENAI_API_KEY"), ({"OPENAI_API_KEY": "sk-test"}, "DISCORD_TOKEN")],
    ids=["nothing-set", "key-set"],
)
def test_the_installed_concierge_command_stops_on_a_missing_setting_like_python_m_bot(
    installed: Installed, clean_env: dict[str, str], tmp_path: Path, env: dict[str, str], named: str
) -> None:
    from_wheel = run([installed.bin / "concierge"], cwd=tmp_path, env={**clean_env, **env})
    from_source = run([sys.executable, "-m", "bot"], cwd=tmp_path, env={**clean_env, **env, "PYTHONPATH": str(ROOT)})
    assert from_wheel.returncode == from_source.returncode == 2, from_wheel.stderr
    assert named in from_wheel.stderr and "Traceback" not in from_wheel.stderr
    assert from_wheel.stderr == from_source.stderr


def test_the_installed_app_opens_with_the_shipped_prompt_and_sample_catalog(
    installed: Installed, clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # never contacted: opening the app sends nothing
    opened = run([installed.bin / "python", "-c", OPEN_THE_APP], cwd=tmp_path, env=env)
    assert opened.returncode == 0, opened.stderr
    found = json.loads(opened.stdout)
    venv = installed.bin.parent
    assert Path(found["bot"]).is_relative_to(venv) and Path(found["tools"]).is_relative_to(venv)
    assert found["prompt"] == (ROOT / "bot" / "resources" / "system_prompt.md").read_text(encoding="utf-8")
    shipped = json.loads((ROOT / "bot" / "resources" / "restaurants.sample.json").read_text(encoding="utf-8"))
    assert found["restaurants"] == len(shipped["restaurants"]) > 0
    assert (tmp_path / "data" / "concierge.db").is_file()  # the default database, relative to where it started


def test_the_wheel_declares_the_mit_license_and_carries_its_text(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        assert "License-Expression: MIT" in wheel.read(metadata).decode().splitlines()
        (license_file,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(license_file).decode() == (ROOT / "LICENSE").read_text(encoding="utf-8")
