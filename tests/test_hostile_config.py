"""Hostile settings: configs, path options and the environment give one clear line, never a
traceback, and unusual but valid settings mean what they say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iod_msoa import cli
from iod_msoa._config import Config, load_config
from iod_msoa._errors import ConfigError

from .hostile import assert_one_line, run


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    """A link that leads back to itself."""
    link = tmp_path / "loop"
    link.symlink_to(link)
    return link


def build_fails(capsys, *args: str) -> str:
    """A build in-process that must fail with one line, before writing anything."""
    assert cli.main(["build", "--quiet", *args]) == 1
    return assert_one_line(capsys.readouterr().err)


# --- symlink loops (issue 14, case 9) ----------------------------------------------------------


def test_a_symlink_loop_in_the_config_inputs(tmp_path, loop):
    config = tmp_path / "config.toml"
    config.write_text(f'[inputs]\nfile7 = "{loop.name}"\n')
    with pytest.raises(ConfigError, match=f"inputs.file7 {loop} cannot be followed: .*loop"):
        load_config(config)


def test_a_symlink_loop_as_cache_dir_in_the_config(tmp_path, loop):
    config = tmp_path / "config.toml"
    config.write_text('cache_dir = "loop/raw"\n')
    with pytest.raises(ConfigError, match=r"cache_dir .*loop/raw cannot be followed"):
        load_config(config)


@pytest.mark.parametrize("option", ["--file7", "--cache-dir"])
def test_a_symlink_loop_as_an_option_is_one_line(tmp_path, loop, capsys, option):
    out = tmp_path / "out"
    err = build_fails(capsys, option, str(loop), "--out", str(out))
    assert f"{option} {loop} cannot be followed: it is a symlink loop" in err
    assert not out.exists()


# --- a byte-order mark (case 15) ---------------------------------------------------------------


def test_a_config_saved_with_a_byte_order_mark(tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes('\ufeffallow_unverified = true\n[inputs]\nfile7 = "f7.csv"\n'.encode())
    loaded = load_config(config)
    assert loaded.allow_unverified is True
    assert loaded.inputs == {"file7": tmp_path / "f7.csv"}


# --- ~ in paths (case 16) ----------------------------------------------------------------------


def test_a_tilde_in_the_config_is_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    config = tmp_path / "config.toml"
    config.write_text('cache_dir = "~/cache"\n[inputs]\nnames = "~/names.csv"\n')
    loaded = load_config(config)
    assert loaded.cache_dir == home / "cache"
    assert loaded.inputs == {"names": home / "names.csv"}


def test_a_tilde_in_options_is_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    args = cli._parser().parse_args(["build", "--out=~/out", "--cache-dir=~/raw"])
    assert args.out == home / "out"
    config = Config().with_overrides(cache_dir=Path("~/raw"), inputs={"file7": Path("~/f7.csv")})
    assert (config.cache_dir, config.inputs["file7"]) == (home / "raw", home / "f7.csv")
    assert not (tmp_path / "~").exists()


def test_a_tilde_of_no_user_is_one_line(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('cache_dir = "~no-such-user-here/raw"\n')
    err = build_fails(capsys, "--config", str(config), "--out", str(tmp_path / "out"))
    assert "cache_dir ~no-such-user-here/raw: ~no-such-user-here names no user" in err
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["build", "--out", "~no-such-user-here/out"])
    err = assert_one_line(capsys.readouterr().err, "iod-msoa: error: argument --out")
    assert "~no-such-user-here names no user with a home folder here" in err


# --- values that are not paths -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cache_dir = 5", "cache_dir must be a path (text), not 5"),
        ('cache_dir = ""', "cache_dir must not be empty"),
        ("[inputs]\nfile7 = [1]", "inputs.file7 must be a path (text), not [1]"),
        ("[inputs.file7]\npath = 'x'", "inputs.file7 must be a path (text), not {'path': 'x'}"),
        ('[inputs]\nfile7 = "  "', "inputs.file7 must not be empty"),
        ('[inputs]\nfile7 = "a\\u0000b"', "contains a NUL character"),
    ],
)
def test_config_paths_that_are_not_paths(tmp_path, line, message):
    """A number, list or blank was taken as a folder name (a blank cache_dir: the config's
    own folder), and a NUL stopped the run with a traceback."""
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value).startswith(f"config file {config}: ")
    assert message in str(raised.value)


# --- a config that is not a file (case 20) -----------------------------------------------------


def test_a_config_that_is_a_fifo_is_refused_at_once(tmp_path):
    """Reading a FIFO with no writer blocked until killed (in a subprocess: bounded in time)."""
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    env = {**os.environ, "IOD_MSOA_CONFIG": str(fifo)}  # the environment's, as --config's
    done = run(["build", "--quiet", "--out", str(tmp_path / "out")], env=env)
    assert done.returncode == 1
    err = assert_one_line(done.stderr)
    assert f"config file {fifo} is not a regular file (a FIFO, device or socket)" in err


def test_a_blank_config_variable_is_unset(monkeypatch, tmp_path):
    """It named the project folder's ' ', which does not exist."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IOD_MSOA_CONFIG", " ")
    assert load_config() == Config(cache_dir=tmp_path / "data" / "raw")
