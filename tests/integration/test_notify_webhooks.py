"""Chat webhooks against a local receiver: payload shapes, retries, never blocking the caller."""

import socket
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.integration.chat_receiver import chat_receiver
from worker.cli import main
from worker.config import ConfigError
from worker.config.digest import NotifyConfig
from worker.notify.message import ChatMessage
from worker.notify.sender import Chats, WebhookSender

MESSAGE = ChatMessage(
    title="NPS this week: +12.0",
    lines=("Answers: 40 <vs 35>", "Overdue follow-ups: 2"),
    link="https://intranet.example/nps",
    link_text="Full report",
)
SECRET_PATH = "/services/T000/B000/secret-token-xyz"


def _chats(env: dict[str, str], retries: int = 3) -> Chats:
    """Chats for each `<KIND>_URL` variable in `env`."""
    kinds = [name.removesuffix("_URL").lower() for name in env]
    settings = NotifyConfig.model_validate(
        {kind: {"webhook_env": f"{kind.upper()}_URL"} for kind in kinds}
    )
    return Chats(settings, env, WebhookSender(timeout=5, retries=retries, backoff=0.01))


def test_slack_and_teams_get_their_own_payload() -> None:
    """Slack gets Block Kit with an escaped text fallback; Teams an Adaptive Card; both the link."""
    with chat_receiver() as receiver:
        chats = _chats({"SLACK_URL": receiver.url + "/slack", "TEAMS_URL": receiver.url + "/teams"})
        assert sorted(chats.send(MESSAGE)) == ["slack", "teams"]
        assert chats.sender.flush(10)
    got = dict(receiver.posts)
    slack, teams = got["/slack"], got["/teams"]
    assert "&lt;vs 35&gt;" in slack["text"]
    assert slack["blocks"][0]["text"]["text"] == MESSAGE.title
    assert slack["blocks"][-1]["elements"][0]["url"] == MESSAGE.link
    (card,) = teams["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert [b["text"] for b in card["content"]["body"]] == [MESSAGE.title, *MESSAGE.lines]
    assert card["content"]["actions"][0]["url"] == MESSAGE.link


def test_rate_limit_and_server_errors_are_retried() -> None:
    """A 429 (Retry-After honoured) and a 503 are retried; the message arrives once."""
    with chat_receiver() as receiver:
        receiver.replies = [(429, {"Retry-After": "0"}), (503, {})]
        chats = _chats({"SLACK_URL": receiver.url + "/slack"})
        chats.send(MESSAGE)
        assert chats.sender.flush(10)
    assert [path for path, _ in receiver.posts] == ["/slack"] * 3
    assert chats.sender.delivered.sent == {"slack": 1}


def test_a_refusal_is_not_retried() -> None:
    """A 400 (a bad payload, a revoked webhook) is given up at once and counted."""
    with chat_receiver() as receiver:
        receiver.replies = [(400, {})]
        chats = _chats({"SLACK_URL": receiver.url + "/slack"})
        chats.send(MESSAGE)
        assert chats.sender.flush(10)
    assert len(receiver.posts) == 1
    assert chats.sender.delivered.failed == {"slack": 1}


def test_posting_never_waits_for_the_chat() -> None:
    """While the chat hangs, `send` has already returned; the post lands once it answers."""
    with chat_receiver() as receiver:
        receiver.hold.clear()
        chats = _chats({"SLACK_URL": receiver.url + "/slack", "TEAMS_URL": receiver.url + "/t"})
        chats.send(MESSAGE)
        assert receiver.posts == []
        assert not chats.sender.flush(0.2)
        receiver.hold.set()
        assert chats.sender.flush(10)
    assert len(receiver.posts) == 2


def test_an_unreachable_chat_is_given_up_and_its_url_never_logged() -> None:
    """Connection refused: retried, then counted as failed; no log line holds the URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"
    with capture_logs() as logs:
        chats = _chats({"SLACK_URL": url, "TEAMS_URL": url}, retries=2)
        chats.send(MESSAGE)
        assert chats.sender.flush(30)
        chats.sender.close(5)
    assert chats.sender.delivered.failed == {"slack": 1, "teams": 1}
    assert logs
    assert not any("secret-token" in str(entry) for entry in logs)


def test_a_missing_variable_is_named() -> None:
    """A chat configured with an unset variable fails when built, naming the variable."""
    settings = NotifyConfig.model_validate({"slack": {"webhook_env": "SLACK_URL"}})
    with pytest.raises(ConfigError, match="SLACK_URL"):
        Chats(settings, {})


def test_check_names_an_unset_webhook_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` exit 0 means `digest --send` can post: an unset webhook variable is exit 2."""
    monkeypatch.delenv("NPS_TEST_SLACK_URL", raising=False)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "token")
    monkeypatch.setenv("NPS_TOKEN_SECRET", "s" * 32)
    file = tmp_path / "config.yaml"
    file.write_text(
        "crm:\n  kind: hubspot\nnotify:\n  slack: {webhook_env: NPS_TEST_SLACK_URL}\n",
        encoding="utf-8",
    )
    assert main(["check", "--offline", "--config", str(file)]) == 2
    assert "NPS_TEST_SLACK_URL" in capsys.readouterr().err
    monkeypatch.setenv("NPS_TEST_SLACK_URL", "http://127.0.0.1:9/hook")
    assert main(["check", "--offline", "--config", str(file)]) == 0
