"""Reading one-time codes the way a resident does: from the text message their phone got
(the real `sms_outbox`, through the sms module)."""
import re

from credit_self import sms


def messages_to(db, phone: str) -> list[dict]:
    """Text messages sent to this phone, newest first."""
    return sms.outbox(db, phone)


def code_sent_to(db, phone: str) -> str:
    """The 6-digit code in the newest text message to this phone."""
    newest = messages_to(db, phone)[0]["text"]
    return re.search(r"\b\d{6}\b", newest).group(0)
