"""A `ChatMessage` as a Slack incoming-webhook payload: Block Kit, with `text` as fallback.

Slack reads `text` for notifications and clients without blocks; `&`, `<` and `>` must be
escaped in mrkdwn text (https://api.slack.com/reference/surfaces/formatting#escaping).
"""

from typing import Any

from worker.notify.message import ChatMessage


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: ChatMessage) -> dict[str, Any]:
    """A header, one section per line, and the link as a button."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(line)}}
            for line in message.lines
        ),
    ]
    if message.link:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": message.link_text},
                        "url": message.link,
                    }
                ],
            }
        )
    fallback = "\n".join((message.title, *message.lines, *([message.link] if message.link else [])))
    return {"text": _escape(fallback), "blocks": blocks}
