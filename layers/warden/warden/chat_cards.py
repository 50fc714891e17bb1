"""Chat-card rendering: an alert as an Amazon Q Developer in chat applications custom notification, and the SNS
message that carries it beside the e-mail body (one body per subscription protocol).

The alert builders in :mod:`warden.alerts` say what a card shows (:class:`~warden.records.ChatCard`); this module says
how it is written: escaped, cut to fit, within SNS's size limit.
"""

from __future__ import annotations

import json
from typing import Any

from warden.records import Alert, ChatCard

# SNS refuses a message over 256 KiB (the message and its attributes); leave room for the attributes and envelope.
SNS_MESSAGE_LIMIT = 256 * 1024
_ATTRIBUTE_ROOM = 1024
# What a chat card shows stays short: a card is read at a glance, and chat platforms cut long messages.
_TITLE_LIMIT = 250
_DESCRIPTION_LIMIT = 1500
_FACT_LIMIT = 300
_STEP_LIMIT = 300
_CARD_EMOJI = {"HIGH": ":rotating_light:", "MEDIUM": ":warning:", "INFO": ":information_source:"}


def sns_message(alert: Alert) -> str:
    """The ``Message`` to publish with ``MessageStructure=json``: one body per subscription protocol.

    ``default`` and ``email`` carry the e-mail body (``default`` is what SQS, Lambda, e-mail-json and every other
    protocol without a key of its own receive), ``https`` the chat card as a custom notification, which Amazon Q
    Developer in chat applications (an HTTPS subscriber of the topic) turns into a Slack or Teams message. The whole
    message stays under SNS's size limit: an oversized body is cut, with a note saying so.
    """
    chat = json.dumps(chat_notification(alert), ensure_ascii=False, separators=(",", ":"))
    room = SNS_MESSAGE_LIMIT - _ATTRIBUTE_ROOM - len(_structured("", chat, "").encode())
    body = _fit(alert.body, room // 2)
    return _structured(body, chat, body)


def chat_notification(alert: Alert) -> dict[str, Any]:
    """The alert as an Amazon Q Developer in chat applications custom notification (schema version 1.0).

    Everything the alert quotes (a principal, a Name tag, a session reason) is chosen by someone else: it is escaped
    and shown as code, so it cannot mention a channel, add a link or change the formatting.
    """
    card = alert.card or _card_from_text(alert)
    lines = [_plain(card.description, _DESCRIPTION_LIMIT), ""]
    lines.extend(f"*{label}:* {_code(value, _FACT_LIMIT)}" for label, value in card.facts)
    if card.link:
        label, url = card.link
        lines.append(f"<{url}|{_escape(label)}>")
    title = _plain(" ".join(f"{_CARD_EMOJI[alert.severity]} {card.title}".split()), _TITLE_LIMIT)
    metadata: dict[str, Any] = {
        "summary": _plain(alert.subject, _TITLE_LIMIT),
        "eventType": alert.kind,
        "additionalContext": {"severity": alert.severity, "kind": alert.kind},
    }
    if card.thread:
        metadata["threadId"] = card.thread
    if card.resources:
        metadata["relatedResources"] = list(card.resources)
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": "\n".join(lines).strip(),
            "nextSteps": [
                f"{_plain(what, _STEP_LIMIT)}: {_code(command, _STEP_LIMIT)}" for what, command in card.next_steps
            ],
            "keywords": ["Session Warden", alert.severity, alert.kind],
        },
        "metadata": metadata,
    }


def _structured(body: str, chat: str, email: str) -> str:
    return json.dumps({"default": body, "email": email, "https": chat}, ensure_ascii=False)


def _fit(body: str, room: int) -> str:
    """``body`` if its JSON string fits in ``room`` bytes, else as much of its head as fits and a note saying so."""
    if _json_bytes(body) <= room:
        return body
    note = f"\n\n[This alert was cut to fit SNS's {SNS_MESSAGE_LIMIT // 1024} KiB message limit.]\n"
    keep = min(len(body), room)
    while keep > 0 and _json_bytes(body[:keep] + note) > room:
        keep = keep * 9 // 10  # escaping makes a character 1 to 6 bytes: shrink until it fits
    return body[:keep] + note


def _json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def _card_from_text(alert: Alert) -> ChatCard:
    """A card for an alert that brings none: the subject as the title, the e-mail's first paragraph below it."""
    title = alert.subject.removeprefix("[Session Warden] ")
    return ChatCard(title=title, description=alert.body.split("\n\n", 1)[0], thread=alert.session_id)


def _escape(text: str) -> str:
    # Slack's markdown reads <...> as links and mentions (<!channel>) and & as an entity: escape all three.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> str:
    return _escape(_cut(text, limit))


def _code(text: str, limit: int) -> str:
    """Inline code: one line, no backtick of its own (it would end the code span)."""
    return "`" + _escape(_cut(" ".join(text.split()).replace("`", "'"), limit)) + "`"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
