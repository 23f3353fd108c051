"""The ways a reminder reaches a person besides the bell.

The bell (an in-app `Notification`) always rings: delivery writes it in the same transaction
that marks the reminder as notified, so it exists exactly once. Other channels reach outside
the database; each is a `Channel`, listed in settings.REMINDER_CHANNELS. To add SMS or a pager,
write a subclass (a `name`, who `wants` it, how to `send` one message; `open`/`close` for a
connection kept over a batch) and add its dotted path to the setting.

Delivery sends a reminder on its channels one after the other and then records the outcome
(coordination.reminders.delivery): an exception from `send` is a failure, retried later with
backoff, and the channels that did send are not repeated; a crash leaves the reminder pending,
and it is handed over again. A channel should make a repeat recognisable, as email does with a
Message-ID per reminder (`reminder_message_id`).
"""

from __future__ import annotations

import email.policy
import secrets
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from .content import Message


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, context: dict) -> RenderedEmail:
    """An email's subject, text and HTML, from templates/coordination/reminders/email/<name>_subject.txt,
    <name>.txt and <name>.html: the one helper through which the tracker words its emails."""
    subject = render_to_string(f"coordination/reminders/email/{name}_subject.txt", context)
    return RenderedEmail(
        subject=" ".join(subject.split())[:200],
        text=render_to_string(f"coordination/reminders/email/{name}.txt", context),
        html=render_to_string(f"coordination/reminders/email/{name}.html", context),
    )


def reminder_message_id(reminder_id: int) -> str:
    """The same Message-ID however often the reminder is sent: a copy is recognisable as one."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<reminder-{reminder_id}@{host}>"


class _Compat32(email.policy.Compat32):
    """Django's header policy (compat32), minus its round trip through the Header class for a
    header that is short, on one line and ASCII, which that round trip returns unchanged: half
    the cost of writing a reminder's email. Anything else is folded by compat32 itself."""

    def _as_is(self, name: str, value) -> str | None:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\n" not in value
            and "\r" not in value
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        return self._as_is(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        as_is = self._as_is(name, value)
        return as_is.encode("ascii") if as_is else super().fold_binary(name, value)


HEADER_POLICY = _Compat32()


class ReminderEmail(EmailMultiAlternatives):
    """Django's email, written faster with the same bytes (a worker sends thousands a minute,
    docs/performance.md): its MIME boundary chosen here, at random (Python's generator checks a
    boundary of its own against the whole body with a regular expression compiled for each
    message), and its short headers written as they are (see _Compat32)."""

    def message(self):
        msg = super().message()
        msg.set_boundary(f"=_care_tracker_{secrets.token_hex(12)}")
        msg.policy = HEADER_POLICY
        return msg


class Channel:
    """A way out of the tracker. Subclasses set `name` and implement `wants` and `send`."""

    name = ""

    def wants(self, recipient, preference) -> bool:
        """Whether this person gets reminders this way (their preference, an address)."""
        raise NotImplementedError

    def reaches(self, recipient) -> bool:
        """Whether an urgent message can go this way whatever the person's settings (an address)."""
        return False

    def open(self) -> None:
        """Before a batch: open a connection worth keeping over several messages."""

    def close(self) -> None:
        """After a batch."""

    def send(self, *, reminder_id: int, recipient, message: Message) -> None:
        """Send one reminder; raise on failure (it is retried with backoff)."""
        raise NotImplementedError


class EmailChannel(Channel):
    """Email through Django's email backend (EMAIL_URL): subject, text and HTML."""

    name = "email"

    def __init__(self):
        self.connection = None

    def wants(self, recipient, preference) -> bool:
        return bool(preference.email and recipient.email)

    def reaches(self, recipient) -> bool:
        return bool(recipient.email)

    def open(self) -> None:
        self.connection = get_connection()
        self.connection.open()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send(self, *, reminder_id: int, recipient, message: Message) -> None:
        rendered = render_email(
            message.email, {**message.context, "recipient": recipient, "url": message.url, "link": message.link}
        )
        email = ReminderEmail(
            subject=rendered.subject,
            body=rendered.text,
            to=[recipient.email],
            connection=self.connection,
            headers={
                "Message-ID": reminder_message_id(reminder_id),
                "Auto-Submitted": "auto-generated",  # RFC 3834: no out-of-office replies
            },
        )
        email.attach_alternative(rendered.html, "text/html")
        email.send()


@cache
def _channel_classes(paths: tuple[str, ...]) -> tuple[type[Channel], ...]:
    return tuple(import_string(path) for path in paths)


def channels() -> list[Channel]:
    """Fresh instances of the configured channels, for one batch."""
    return [cls() for cls in _channel_classes(tuple(settings.REMINDER_CHANNELS))]
