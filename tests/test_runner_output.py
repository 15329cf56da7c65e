"""The runner's result on stdout is framed by marker lines, and the host reads only the frame.

A device whose shell start-up file prints (a login banner, ``conda activate`` chatter, a
logout line) puts that text on the stdout of every command, around the runner's JSON.
The parser tests feed such output to ``parse_runner_output``; the SSH test logs in to a
real OpenSSH server through a login shell that reads a talkative start-up file.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.sshd
from hwnas.cli import main
from hwnas.devices.ssh import SSHTransport
from hwnas.errors import ModelNotFoundError, RunnerError, UsageError
from hwnas.profiler import batch, runner
from hwnas.profiler.batch import RUNNER_PATH, parse_runner_output, probe_fingerprint
from hwnas.profiler.settings import ProfileSettings
from hwnas.store import Store
from tests.sshd import SSHServer

FAST = ["--max-seconds", "0.3", "--target-ci", "0.05", "--warmup", "2"]
BANNER = "Welcome to box (a Raspberry Pi OS image)\nLast login: Mon Jan  1 00:00:00 2024\n"
CONDA = "(base) conda activate: environment 'base' activated\n"
LOGOUT = "logout: see you soon\n"
DOC = {"ok": True, "runner_version": 1, "fingerprint": {"cpu_model": "x"}}


def framed(doc: object) -> str:
    return f"{runner.RESULT_BEGIN}\n{json.dumps(doc)}\n{runner.RESULT_END}\n"


# -- the parser -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stdout",
    [
        framed(DOC),
        BANNER + CONDA + framed(DOC),
        framed(DOC) + LOGOUT,
        BANNER + framed(DOC) + LOGOUT + "{not json either\n",
        "a prompt without a newline $ " + framed(DOC),  # the marker need not start a line
        (BANNER + framed(DOC) + LOGOUT).replace("\n", "\r\n"),  # a pty's line ends
        "{" + framed(DOC) + "}\n",  # braces of chatter do not confuse the frame
    ],
    ids=["bare", "banner", "logout", "both", "no-newline", "crlf", "braces"],
)
def test_the_document_is_read_from_its_frame_whatever_surrounds_it(stdout: str) -> None:
    assert parse_runner_output(stdout, "", 0) == DOC


def test_markers_inside_the_document_do_not_end_the_frame() -> None:
    # A model path may hold any text; JSON escapes the newline, so a marker in a string
    # can never stand on a line of its own.
    sneaky = f"x\n{runner.RESULT_END}\n{runner.RESULT_BEGIN}\n{{}}"
    doc = {**DOC, "settings": {"model": sneaky}}
    assert parse_runner_output(BANNER + framed(doc) + LOGOUT, "", 0) == doc


def test_a_framed_error_document_raises_its_own_error_despite_chatter() -> None:
    error = {
        "ok": False,
        "runner_version": 1,
        "error": {"kind": "model_not_found", "message": "m.onnx does not exist"},
    }
    with pytest.raises(ModelNotFoundError, match="m.onnx does not exist"):
        parse_runner_output(BANNER + framed(error) + LOGOUT, "", 2)


def test_an_unframed_document_alone_is_accepted_but_not_amid_chatter() -> None:
    # A runner from before the frame printed only its document: still unambiguous.
    assert parse_runner_output(json.dumps(DOC) + "\n", "", 0) == DOC
    with pytest.raises(RunnerError, match="without a result") as info:
        parse_runner_output(BANNER + json.dumps(DOC) + "\n", "", 0)
    assert "Welcome to box" in info.value.message and "start-up file" in info.value.message


def test_no_frame_is_a_runner_error_that_names_the_fix() -> None:
    with pytest.raises(RunnerError) as info:
        parse_runner_output(BANNER + CONDA, "SyntaxError: invalid syntax\n", 1)
    message = info.value.message
    assert "exited with code 1 without a result" in message
    assert "SyntaxError: invalid syntax" in message  # what the runner said on stderr
    assert "conda activate" in message and "start-up file" in message  # what stdout held
    assert "hwnas devices check" in message  # what to do
    with pytest.raises(RunnerError, match="code -9 without a result: Killed") as info:
        parse_runner_output("", "Killed\n", -9)
    assert "start-up file" not in info.value.message  # nothing was printed: no chatter


def test_a_cut_off_or_broken_frame_says_so() -> None:
    with pytest.raises(RunnerError, match="cut off"):
        parse_runner_output(BANNER + f"{runner.RESULT_BEGIN}\n" + '{"ok": tr', "", -9)
    bad = f"{runner.RESULT_BEGIN}\n{{not json}}\n{runner.RESULT_END}\n"
    with pytest.raises(RunnerError, match="not valid JSON"):
        parse_runner_output(BANNER + bad, "", 0)
    with pytest.raises(RunnerError, match="answered something unexpected"):
        parse_runner_output(framed([1, 2]), "", 0)


def test_runner_and_host_agree_on_the_markers() -> None:
    assert (batch.RESULT_BEGIN, batch.RESULT_END) == (runner.RESULT_BEGIN, runner.RESULT_END)
    assert runner.RESULT_BEGIN != runner.RESULT_END


# -- the runner -------------------------------------------------------------------------


def test_every_runner_document_is_framed_and_alone_on_stdout(tmp_path: Path) -> None:
    for args in (["--check"], ["--fingerprint-only"], [str(tmp_path / "missing.onnx")]):
        out = io.StringIO()
        code = runner.main(args, stdout=out)
        lines = out.getvalue().split("\n")
        assert lines[0] == runner.RESULT_BEGIN and lines[2:] == [runner.RESULT_END, ""], lines
        assert json.loads(lines[1])["ok"] is (code == 0)
    proc = subprocess.run(
        [sys.executable, "-I", str(RUNNER_PATH), "--fingerprint-only"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[::2] == [runner.RESULT_BEGIN, runner.RESULT_END]
    assert parse_runner_output(proc.stdout, proc.stderr, 0)["fingerprint"]["cores"] >= 1


def test_help_stays_plain_text() -> None:
    out = io.StringIO()
    assert runner.main(["--help"], stdout=out) == 0
    assert runner.RESULT_BEGIN not in out.getvalue() and "usage:" in out.getvalue()


# -- over SSH, through a talkative login shell ------------------------------------------


def _sftp_server() -> str:
    """OpenSSH's external SFTP server (Debian and Fedora layouts)."""
    for path in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server"):
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError("no OpenSSH sftp-server found; run `bash .ci/setup` and try again")


def _talkative_login_shell(directory: Path) -> Path:
    """A login shell that, like bash reading ~/.bashrc for `ssh host CMD`, reads a start-up
    file printing a banner and `conda activate` chatter first, and a logout line last."""
    startup = directory / "bashrc"
    startup.write_text(
        "".join(f"echo {line!r}\n" for line in (BANNER + CONDA).splitlines())
        + f"trap 'echo \"{LOGOUT.strip()}\"' EXIT\n"
    )
    shell = directory / "login-shell"
    shell.write_text(
        "#!/bin/sh\n"
        "# sshd runs every command of the session here (ForceCommand): SFTP as is, the\n"
        "# rest after the start-up file, as a login shell would.\n"
        'if [ "$SSH_ORIGINAL_COMMAND" = internal-sftp ]; then\n'
        f"    exec {_sftp_server()}\n"
        "fi\n"
        f". {startup}\n"
        'eval "$SSH_ORIGINAL_COMMAND"\n'
    )
    shell.chmod(0o755)
    return shell


@pytest.fixture(scope="module")
def talkative_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A second real sshd whose sessions all run through the talkative login shell."""
    directory = tmp_path_factory.mktemp("talkative-sshd")
    shell = _talkative_login_shell(directory)
    plain = tests.sshd._config
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            tests.sshd,
            "_config",
            lambda d, port, **kw: plain(d, port, **kw) + f"ForceCommand {shell}\n",
        )
        server = SSHServer.start(directory)
    try:
        yield server
    finally:
        server.stop()


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profiling_works_through_a_login_shell_that_prints_a_banner(
    capsys, talkative_sshd: SSHServer, conv_onnx: Path, tmp_path: Path
) -> None:
    known = talkative_sshd.known_hosts(tmp_path)
    spec = talkative_sshd.device_spec("talkative", known_hosts=known, workdir=tmp_path / "work")
    with SSHTransport(spec) as ssh:  # the chatter really reaches the stdout of commands
        done = ssh.run(["echo", "the command's own output"])
        assert done.stdout == BANNER + CONDA + "the command's own output\n" + LOGOUT
        fingerprint = probe_fingerprint(ssh, ProfileSettings())  # --fingerprint-only
        assert fingerprint.cores >= 1
    address = f"{talkative_sshd.user}@127.0.0.1:{talkative_sshd.port}"
    code, _, err = run_cli(
        capsys,
        *("devices", "add", "chatty", "--ssh", address, "--key", talkative_sshd.user_key),
        *("--known-hosts", known, "--python", sys.executable, "--workdir", tmp_path / "work"),
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, "devices", "check", "chatty", "--json")  # --check
    assert code == 0, err
    assert json.loads(out)["report"]["onnxruntime"]
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys, "profile", conv_onnx, "--device", "chatty", *FAST, "--json", "--store", store
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["errors"] == [] and len(doc["measurements"]) == 1
    assert doc["measurements"][0]["latency_ms"]["median"] > 0
    with Store(store) as s:
        assert [j.status for j in s.jobs(device="chatty")] == ["done"] and s.count() == 1


def test_a_usage_error_of_the_runner_still_reaches_the_host_through_the_chatter(
    talkative_sshd: SSHServer, tmp_path: Path
) -> None:
    spec = talkative_sshd.device_spec(
        "talkative", known_hosts=talkative_sshd.known_hosts(tmp_path), workdir=tmp_path / "w"
    )
    with SSHTransport(spec) as ssh:
        remote = ssh.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
        done = ssh.run([ssh.python, remote, "--max-runs", "1", "--min-runs", "5", "m.onnx"])
    assert done.stdout.startswith(BANNER) and done.stdout.endswith(LOGOUT)
    with pytest.raises(UsageError, match="--max-runs 1 is below --min-runs 5"):
        parse_runner_output(done.stdout, done.stderr, done.returncode)
