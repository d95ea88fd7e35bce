"""Events that cross capabilities, as blinker signals (the library Flask's own signals
use). A sender never knows who listens; receivers run in the sender's transaction, so
what they write commits or rolls back with the change that caused it.
"""
from blinker import Namespace

_signals = Namespace()

# An entry was added or changed (a department feed, a decision on a correction).
# Sent with conn, entry_id, id_number, change ("added", "changed"), fields
# {field: (old, new)} (for "added", every column from None), at, actor, reason, and
# correction_id when a decision caused it.
entry_changed = _signals.signal("entry-changed")

# A resident opened their own record (/me): a moment to look at what is about to change.
# Sent with conn, id_number, entries (every entry, as records reads them).
record_viewed = _signals.signal("record-viewed")

# Something a resident must be told about their account (a password reset, ...), kept
# where they read messages (the corrections capability's inbox). Sent with conn,
# id_number, kind (e.g. "password_reset"), at, title and text (English message ids,
# translated when shown) and values (the text's %(name)s placeholders).
resident_notice = _signals.signal("resident-notice")
# A resident was told something (an inbox message was written). Sent with conn,
# id_number, kind, entry_id, correction_id, params: the hook for other channels (SMS),
# which word the message from kind and params in the resident's language.
resident_told = _signals.signal("resident-told")
