"""What an operator sees from the ``kiosk`` command: one clear line, never a traceback.

Each test runs the installed console script in a scratch folder, as an operator would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

KIOSK = shutil.which("kiosk", path=str(Path(sys.executable).parent)) or "kiosk"
COMMANDS = ["init", "demo", "serve", "worker", "import", "user", "wall", "sync-media", "backup", "restore"]


def kiosk(cwd: Path, *args: str, data_dir: Path | str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``kiosk ARGS`` in ``cwd`` with a clean environment (``KIOSK_DATA_DIR`` only if given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    if data_dir is not None:
        env["KIOSK_DATA_DIR"] = str(data_dir)
    return subprocess.run([KIOSK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_help_in_an_empty_folder_lists_the_kiosks_commands_and_writes_nothing(tmp_path: Path) -> None:
    result = kiosk(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == COMMANDS
    assert list(tmp_path.iterdir()) == []


def test_a_commands_help_writes_nothing_either(tmp_path: Path) -> None:
    result = kiosk(tmp_path, "serve", "--help")
    assert result.returncode == 0 and "--port" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_every_command_names_its_data_dir_and_warns_when_it_starts_a_new_library(tmp_path: Path) -> None:
    first = kiosk(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    data_dir = tmp_path / "media"
    assert f"data dir {data_dir}" in first.stderr
    assert "holds no library yet" in first.stderr
    again = kiosk(tmp_path, "init")
    assert f"data dir {data_dir}" in again.stderr
    assert "holds no library yet" not in again.stderr


def test_the_secret_key_is_kept_by_init_with_owner_only_access(tmp_path: Path) -> None:
    assert kiosk(tmp_path, "init").returncode == 0
    key = tmp_path / "media" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_text().strip()) >= 40


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda tmp: (tmp / "library.txt").write_text("x") and tmp / "library.txt",
                     ["is a file, not a folder"], id="a file"),
        pytest.param(lambda tmp: tmp / "no" / "such" / "media", ["does not exist", "mkdir -p"], id="no parent"),
        pytest.param(lambda tmp: Path("/proc/self/kiosk-media"), ["cannot be made", "read-only"], id="read-only"),
    ],
)
def test_an_unusable_data_dir_is_one_line_naming_the_folder_and_the_fix(tmp_path: Path, make, words) -> None:
    data_dir = make(tmp_path)
    result = kiosk(tmp_path, "init", data_dir=data_dir)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Error: the data dir")
    assert "KIOSK_DATA_DIR" in message
    for word in words:
        assert word in message


def test_serve_on_a_busy_port_fails_at_once_without_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kiosk(tmp_path, "serve", "--port", str(port))
    assert result.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    assert "--port" in result.stderr.splitlines()[-1]
    assert "serving at" not in result.stdout
    assert not (tmp_path / "media").exists()  # refused before anything was set up


def test_importing_a_folder_without_audio_exits_non_zero(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("没有音频")
    assert kiosk(tmp_path, "init").returncode == 0
    result = kiosk(tmp_path, "import", str(folder), "--section", "zhongguo-jingshen")
    assert result.returncode != 0, result.stdout
    assert "nothing was imported" in result.stderr


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"])
def test_a_wall_for_this_computers_own_address_warns_that_phones_cannot_reach_it(
    tmp_path: Path, base_url: str
) -> None:
    result = kiosk(tmp_path, "wall", "--base-url", base_url, "-o", str(tmp_path / "wall.html"))
    assert result.returncode == 0, result.stderr
    assert "phones that scan the wall cannot reach it" in result.stderr
    assert (tmp_path / "wall.html").stat().st_size > 0


def test_a_wall_for_a_public_address_has_no_warning(tmp_path: Path) -> None:
    result = kiosk(tmp_path, "wall", "--base-url", "https://lib.example.org", "-o", str(tmp_path / "wall.html"))
    assert result.returncode == 0, result.stderr
    assert "cannot reach it" not in result.stderr


def test_the_readme_documents_every_setting() -> None:
    """Each KIOSK_* variable that config reads is in the README's tables."""
    from kiosk import config

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in config.TUNABLES if f"`{name}`" not in readme]
    assert undocumented == []


def test_a_folder_with_files_but_no_library_is_still_a_new_library(tmp_path: Path) -> None:
    """A clone's media/ holds only its README: the first command there starts a new library, and says so."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "README.md").write_text("the default media store")
    result = kiosk(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    assert "holds no library yet" in result.stderr
