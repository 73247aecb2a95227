"""Static checks on the deployment files: Dockerfile, .dockerignore, compose, systemd units.

Nothing here builds an image or starts a unit (no Docker engine or systemd manager is needed):
the files are parsed and checked against what the code expects — the settings' defaults, the
command line, the files the image must contain. The HEALTHCHECK command itself is run against a
local HTTP server, and `systemd-analyze verify` / `hadolint` are used where installed.
"""

from __future__ import annotations

import configparser
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
import yaml

from aseanbot.cli import build_parser
from aseanbot.config import DEFAULT_DB_PATH
from aseanbot.delivery.pass_lock import lock_path_for

REPO = Path(__file__).parents[1]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "docker-compose.yml"
SYSTEMD = REPO / "deploy" / "systemd"
DEPLOY_DOC = REPO / "docs" / "DEPLOY.md"

VOLUME_DIR = "/var/lib/aseanbot"
APP_DIR = "/app"
# What the image must hold to run: everything else stays out of the build context.
RUNTIME_SOURCES = {"requirements.txt", "bot.py", "src", "data"}


# --- Dockerfile -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, comments dropped and `\\` continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def _all(instructions: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in instructions if i.keyword == keyword]


def _env(instructions: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in _all(instructions, "ENV"):
        for word in shlex.split(args):
            name, sep, value = word.partition("=")
            assert sep, f"ENV without '=' ({word!r}): use the NAME=value form"
            env[name] = value
    return env


def _copy_sources(instructions: list[Instruction]) -> list[str]:
    sources: list[str] = []
    for args in _all(instructions, "COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources


def test_the_image_is_python_311_slim(dockerfile: list[Instruction]) -> None:
    assert _all(dockerfile, "FROM") == ["python:3.11-slim"]


def test_the_image_runs_as_the_unprivileged_user_it_creates(
    dockerfile: list[Instruction],
) -> None:
    users = _all(dockerfile, "USER")
    assert users, "no USER: the bot would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # USER comes before CMD, so the bot (not only a later RUN) runs as that user.
    keywords = [i.keyword for i in dockerfile]
    assert max(i for i, k in enumerate(keywords) if k == "USER") < keywords.index("CMD")
    # The uid in USER is the one useradd created.
    run = " ".join(_all(dockerfile, "RUN"))
    created = re.search(r"useradd\b.*?--uid (\d+)", run)
    assert created is not None, "the image creates no user with a fixed uid"
    assert user == created.group(1)


def test_the_volume_holds_the_database_and_belongs_to_the_user(
    dockerfile: list[Instruction],
) -> None:
    env = _env(dockerfile)
    assert env["ASEANBOT_DB_PATH"] == f"{VOLUME_DIR}/aseanbot.db"
    assert str(PurePosixPath(env["ASEANBOT_DB_PATH"]).parent) == VOLUME_DIR
    volumes = [
        json.loads(v) if v.startswith("[") else v.split() for v in _all(dockerfile, "VOLUME")
    ]
    assert volumes == [[VOLUME_DIR]]
    # Created and chowned *before* VOLUME: changes to a volume path after it are discarded.
    keywords = [i.keyword for i in dockerfile]
    chown_at = next(
        n
        for n, i in enumerate(dockerfile)
        if i.keyword == "RUN" and re.search(rf"install -d -o aseanbot .*{VOLUME_DIR}\b", i.args)
    )
    assert chown_at < keywords.index("VOLUME")


def test_the_image_sets_the_runtime_environment(dockerfile: list[Instruction]) -> None:
    env = _env(dockerfile)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["ASEANBOT_HEALTH_PORT"] == "8080"
    assert _all(dockerfile, "WORKDIR") == [APP_DIR]
    assert _all(dockerfile, "EXPOSE") == ["8443"]
    assert json.loads(_all(dockerfile, "CMD")[-1]) == ["python", "bot.py", "run"]


def test_dependencies_come_from_requirements_txt_without_a_cache_or_compilers(
    dockerfile: list[Instruction],
) -> None:
    runs = _all(dockerfile, "RUN")
    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert "requirements.txt" in _copy_sources(dockerfile)
    joined = " ".join(runs)
    for tool in ("build-essential", "gcc", "apt-get install"):
        assert tool not in joined


def test_only_what_runs_is_copied_and_nothing_secret(dockerfile: list[Instruction]) -> None:
    sources = {source.rstrip("/") for source in _copy_sources(dockerfile)}
    assert sources == RUNTIME_SOURCES
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "TELEGRAM_BOT_TOKEN" not in text
    assert "TELEGRAM_BOT_TOKEN" not in _env(dockerfile)


# --- HEALTHCHECK, run for real against a local server ---------------------------------------


def _healthcheck_command(instructions: list[Instruction]) -> str:
    checks = _all(instructions, "HEALTHCHECK")
    assert len(checks) == 1, "exactly one HEALTHCHECK"
    options, sep, command = checks[0].partition(" CMD ")
    assert sep, "HEALTHCHECK without CMD"
    assert "--interval=" in options
    assert "--timeout=" in options
    return command


class _HealthHandler(http.server.BaseHTTPRequestHandler):
    status = 200
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        body = json.dumps({"ok": self.status == 200}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_HealthHandler]]]:
    handler = type("Handler", (_HealthHandler,), {"paths": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def _run_healthcheck(command: str, port: int) -> int:
    # As Docker runs a shell-form CMD: /bin/sh -c, with the image's environment.
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ASEANBOT_HEALTH_PORT": str(port),
    }
    shim = Path(sys.executable).parent / "python"
    script = command if shim.exists() else command.replace("python -c", f"{sys.executable} -c", 1)
    return subprocess.run(["/bin/sh", "-c", script], env=env, timeout=30, check=False).returncode


def test_the_healthcheck_passes_when_healthz_answers_200(
    dockerfile: list[Instruction], health_server: tuple[int, type[_HealthHandler]]
) -> None:
    port, handler = health_server
    assert _run_healthcheck(_healthcheck_command(dockerfile), port) == 0
    assert handler.paths == ["/healthz"]


def test_the_healthcheck_fails_when_healthz_answers_an_error(
    dockerfile: list[Instruction], health_server: tuple[int, type[_HealthHandler]]
) -> None:
    port, handler = health_server
    handler.status = 503
    # 1 is "unhealthy" to Docker; 2 is reserved, so the check must not exit with it.
    assert _run_healthcheck(_healthcheck_command(dockerfile), port) == 1
    assert handler.paths == ["/healthz"]


def test_the_healthcheck_fails_when_nothing_listens(dockerfile: list[Instruction]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert _run_healthcheck(_healthcheck_command(dockerfile), port) == 1


# --- .dockerignore --------------------------------------------------------------------------


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker matches it: `**` spans folders, `*` does not."""
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            chars = pattern[i + 1 : end]
            out += "[" + ("^" + chars[1:] if chars.startswith("!") else chars) + "]"
            i = end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((negated, _dockerignore_regex(line.removeprefix("!"))))
    return rules


def is_ignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last matching rule wins,
    and a rule matching a parent folder matches everything in it."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]
    ignored = False
    for negated, regex in _dockerignore_rules():
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        "src/.env",
        "var/aseanbot.db",
        "var/aseanbot.db-wal",
        "data/aseanbot.db",
        "src/aseanbot/__pycache__/cli.cpython-311.pyc",
        ".git/config",
        "tests/test_cli.py",
        "docker-compose.yml",
    ],
)
def test_secrets_state_and_dev_files_stay_out_of_the_build_context(path: str) -> None:
    assert is_ignored(path)


def test_every_file_the_image_runs_is_in_the_build_context() -> None:
    needed = ["bot.py", "requirements.txt"]
    for folder in ("src", "data"):
        needed += [
            path.relative_to(REPO).as_posix()
            for path in (REPO / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    assert "src/aseanbot/cli.py" in needed
    assert "data/topics.yaml" in needed
    assert [path for path in needed if is_ignored(path)] == []


# --- docker-compose.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_one_service_from_this_dockerfile(compose: dict[str, object]) -> None:
    services = compose["services"]
    assert isinstance(services, dict)
    assert len(services) == 1
    service = next(iter(services.values()))
    assert service["build"] == "."
    env_file = service["env_file"]
    assert (env_file if isinstance(env_file, list) else [env_file]) == [".env"]
    assert service["restart"] == "unless-stopped"
    assert service["stop_grace_period"] == "30s"
    # The image's HEALTHCHECK is inherited: not overridden, not disabled.
    assert "healthcheck" not in service
    # Settings come from .env only: no token written into the compose file.
    assert "environment" not in service
    assert "TELEGRAM_BOT_TOKEN" not in json.dumps(compose)


def test_compose_keeps_the_database_in_a_named_volume(
    compose: dict[str, object], dockerfile: list[Instruction]
) -> None:
    service = next(iter(compose["services"].values()))  # type: ignore[attr-defined]
    named = compose["volumes"]
    assert isinstance(named, dict)
    db_dir = str(PurePosixPath(_env(dockerfile)["ASEANBOT_DB_PATH"]).parent)
    mounts = [volume.split(":") for volume in service["volumes"]]
    assert [source for source, target, *_ in mounts if target == db_dir] == ["aseanbot-data"]
    assert "aseanbot-data" in named


# --- systemd units --------------------------------------------------------------------------


def read_unit(name: str) -> configparser.ConfigParser:
    """A unit file as INI: `=` only (values hold `:`), no interpolation (`%` is systemd's)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"), source=name)
    return parser


HARDENING = {
    "NoNewPrivileges": "true",
    "ProtectSystem": "strict",
    "PrivateTmp": "true",
    "ProtectHome": "true",
}


def test_the_bot_service_runs_polling_as_its_own_user_with_hardening() -> None:
    unit = read_unit("aseanbot.service")
    service = unit["Service"]
    assert service["Type"] == "simple"
    assert service["User"] not in {"root", "0", ""}
    assert service["WorkingDirectory"] == "/srv/aseanbot"
    assert service["EnvironmentFile"] == "/srv/aseanbot/.env"
    assert service["ExecStart"] == "/srv/aseanbot/.venv/bin/python bot.py run"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["TimeoutStopSec"] == "30"
    # A configuration error (exit 2) is not retried forever.
    assert "2" in service["RestartPreventExitStatus"].split()
    assert {key: service[key] for key in HARDENING} == HARDENING
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("name", ["aseanbot.service", "aseanbot-digests.service"])
def test_the_database_is_inside_the_only_writable_path(name: str) -> None:
    service = read_unit(name)["Service"]
    writable = PurePosixPath(service["ReadWritePaths"])
    database = PurePosixPath(service["WorkingDirectory"]) / DEFAULT_DB_PATH
    assert writable in database.parents
    # The digest lock sits beside the database, so it is writable too.
    lock = lock_path_for(Path(str(database)))
    assert lock is not None
    assert writable in PurePosixPath(lock.as_posix()).parents


def test_the_digests_service_is_one_pass_of_send_digests_like_the_bot() -> None:
    bot = read_unit("aseanbot.service")["Service"]
    digests = read_unit("aseanbot-digests.service")["Service"]
    assert digests["Type"] == "oneshot"
    assert digests["ExecStart"] == "/srv/aseanbot/.venv/bin/python bot.py send-digests"
    assert "Restart" not in digests
    for key in ("User", "WorkingDirectory", "EnvironmentFile", "ReadWritePaths", *HARDENING):
        assert digests[key] == bot[key], key


def test_the_timer_runs_the_digests_service_every_minute() -> None:
    timer = read_unit("aseanbot-digests.timer")
    assert timer["Timer"]["Unit"] == "aseanbot-digests.service"
    assert (SYSTEMD / timer["Timer"]["Unit"]).is_file()
    assert timer["Timer"]["OnCalendar"] == "*-*-* *:*:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.parametrize("name", ["aseanbot-digests.service", "aseanbot-digests.timer"])
def test_the_digest_units_say_running_both_is_safe_because_of_the_lock(name: str) -> None:
    text = (SYSTEMD / name).read_text(encoding="utf-8")
    assert "lock file beside the database" in text


@pytest.mark.parametrize("name", ["aseanbot.service", "aseanbot-digests.service"])
def test_every_command_in_the_units_exists(name: str) -> None:
    command = read_unit(name)["Service"]["ExecStart"].split()
    assert command[1] == "bot.py"
    build_parser().parse_args(command[2:])  # exits (SystemExit) on an unknown command


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_systemd_accepts_every_key_and_value(tmp_path: Path) -> None:
    names = ["aseanbot.service", "aseanbot-digests.service", "aseanbot-digests.timer"]
    for name in names:
        shutil.copy(SYSTEMD / name, tmp_path / name)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Only this machine's missing /srv/aseanbot/.venv may be reported; a misspelt key, an
    # unknown section or a value systemd cannot parse fails the test.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if re.search(r"unknown|failed to parse|invalid|not valid|ignoring", line, re.IGNORECASE)
    ]
    assert problems == []


# --- hadolint, where installed --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint absent")
def test_hadolint_finds_no_errors() -> None:
    result = subprocess.run(
        ["hadolint", "--failure-threshold", "error", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- docs/DEPLOY.md -------------------------------------------------------------------------


def test_the_guide_names_only_files_that_exist() -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    referenced = set(re.findall(r"deploy/systemd/[\w.-]+", text))
    assert referenced == {
        f"deploy/systemd/{path.name}" for path in SYSTEMD.iterdir() if path.is_file()
    }


def test_the_guide_uses_only_real_commands(capsys: pytest.CaptureFixture[str]) -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    commands = set(re.findall(r"(?:python |`)bot\.py ([a-z][a-z-]+)", text))
    assert {"run", "send-digests", "stats", "ingest", "export"} <= commands
    for command in sorted(commands):
        # `COMMAND --help` exits 0 for a real command, 2 (usage error) for an unknown one.
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([command, "--help"])
        assert exited.value.code == 0, command
    capsys.readouterr()


def test_the_guide_covers_backups_logs_upgrades_and_the_token() -> None:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    for needed in (
        ".backup",
        "journalctl -u aseanbot",
        "docker compose logs",
        "systemctl enable --now aseanbot",
        "python3.11 -m venv",
        "migrations",
        ".dockerignore",
        lock_path_for(Path(DEFAULT_DB_PATH)).name,  # type: ignore[union-attr]
    ):
        assert needed in text, needed
