"""A `ChatMessage` as a Microsoft Teams incoming-webhook payload: one Adaptive Card.

Teams webhooks (the Workflows "post to a channel when a webhook request is received" flow and
the older connector webhooks) take a `message` whose attachment is an Adaptive Card
(https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/
connectors-using#send-adaptive-cards-using-an-incoming-webhook). Card version 1.4 renders in
Teams on desktop, web and mobile.
"""

from typing import Any

from worker.notify.message import ChatMessage


def teams_payload(message: ChatMessage) -> dict[str, Any]:
    """The title in bold, each line as wrapped text, and the link as an Open URL action."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            *({"type": "TextBlock", "text": line, "wrap": True} for line in message.lines),
        ],
    }
    if message.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": message.link_text, "url": message.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
