"""Alert texts: the e-mail a person reads and what the card a chat channel shows says (SPEC section 4).

Every alert is published once with SNS message structure per protocol (:func:`warden.chat_cards.sns_message`):
e-mail (and every protocol without a key of its own, SQS included) gets the plain-text body, HTTPS subscribers such
as Amazon Q Developer in chat applications get a custom notification (:func:`warden.chat_cards.chat_notification`).

The builders live by what the alert is about: :mod:`~warden.alerts.session` (one session),
:mod:`~warden.alerts.lifecycle` (grants and the stored policy), :mod:`~warden.alerts.defence` (tampering, the canary),
all sharing :mod:`~warden.alerts.text` (context, subject, fields, footer). The names below stay importable from here.
"""

from warden.alerts.defence import canary_blind_alert, canary_restored_alert, tamper_alert
from warden.alerts.text import AlertContext

__all__ = ["AlertContext", "canary_blind_alert", "canary_restored_alert", "tamper_alert"]
