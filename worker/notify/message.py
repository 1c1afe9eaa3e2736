"""A chat message before it is shaped for one chat: a title, a few lines, and a link."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """What a summary or an alert says, in one language, in plain text.

    `lines` are short sentences (no markup); each chat's formatter escapes and lays them out.
    """

    title: str
    lines: tuple[str, ...]
    link: str | None = None
    link_text: str = "Open"
