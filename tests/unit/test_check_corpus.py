"""`check` names every class of bad configuration exactly: the corpus in tests/data/bad_configs.

Each file carries the lines `check --offline` must print (see the corpus README); the test
starts from a complete machine (every variable set, the key file present) and changes only what
the file says, so each expectation is about that one mistake.
"""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from worker.cli import main

CORPUS = Path(__file__).parents[1] / "data" / "bad_configs"
_PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
SECRET = "s" * 40


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every variable the example names, set; the key file in place."""
    key = tmp_path / "server.key"
    key.write_bytes(_PRIVATE_KEY)
    env = {
        "SALESFORCE_USERNAME": "integration@example.com",
        "SALESFORCE_CONSUMER_KEY": "consumer-key",
        "SALESFORCE_PRIVATE_KEY_FILE": str(key),
        "HUBSPOT_ACCESS_TOKEN": "hubspot-token",
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "mail-password",
        "NPS_TOKEN_SECRET": SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("NPS_WORKER_CONFIG", "DATABASE_URL", "NPS_TOKEN_SECRET_PREVIOUS"):
        monkeypatch.delenv(name, raising=False)
    return env


def _header(path: Path) -> list[tuple[str, str]]:
    text = path.read_bytes().decode("utf-8", "replace")
    found = []
    for line in text.splitlines():
        if not line.startswith("# "):
            break
        kind, sep, value = line[2:].partition(": ")
        if sep and kind in ("expect", "env", "unset"):
            found.append((kind, value))
    return found


@pytest.mark.usefixtures("machine")
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_bad_config_is_named_exactly(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2, and stderr is exactly the expected lines: every problem, one line each."""
    monkeypatch.chdir(CORPUS.parents[2])  # relative paths in headers start at the repository
    header = _header(path)
    for kind, value in header:
        if kind == "env":
            name, _, setting = value.partition("=")
            monkeypatch.setenv(name, setting)
        elif kind == "unset":
            monkeypatch.delenv(value)
    expected = [
        value.replace("{file}", str(path))
        .replace("{dir}", str(path.parent))
        .replace("{ja-utf8}", "(UTF-8 で保存してください)")
        for kind, value in header
        if kind == "expect"
    ]
    assert expected, f"{path.name} states no expected line"

    assert main(["check", "--offline", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == expected
    assert captured.out == ""


def test_the_corpus_covers_every_class() -> None:
    """One file per class the issue lists; a class removed from the corpus fails here."""
    classes = {
        "missing-credentials",
        "missing-files",
        "key-file-not-a-key",
        "short-token-secret",
        "secret-in-env-name",
        "two-values-one-field",
        "min-interval-zero",
        "full-width-duration",
        "undefined-template-variable",
        "indentation",
        "unclosed-quote",
        "cp932-file",
        "every-problem-at-once",
    }
    assert classes <= {path.stem for path in CORPUS.glob("*.yaml")}


@pytest.mark.usefixtures("machine")
def test_a_pasted_secret_is_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    """The token pasted into `access_token_env` appears nowhere in what `check` prints."""
    path = CORPUS / "secret-in-env-name.yaml"
    main(["check", "--offline", "--config", str(path)])
    captured = capsys.readouterr()
    assert "0b1c2d3e" not in captured.err + captured.out


@pytest.mark.usefixtures("machine")
def test_a_huge_file_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 5 MB file is the wrong file: refused by its size, before any parsing."""
    path = tmp_path / "config.yaml"
    path.write_text("crm:\n  kind: salesforce\n" + "# padding\n" * 500_000, encoding="utf-8")
    assert main(["check", "--offline", "--config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: configuration file is 5.0 MB; a configuration is under 1 MB"
        " (is this the right file?)"
    ]


@pytest.mark.usefixtures("machine")
def test_a_complete_machine_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With every variable and file present, the example passes: the corpus fails for its
    one mistake, not for the machine."""
    example = Path(__file__).parents[2] / "config.example.yaml"
    assert main(["check", "--offline", "--config", str(example)]) == 0
    assert capsys.readouterr().err == ""
