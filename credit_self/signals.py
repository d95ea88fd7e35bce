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

# A resident was told something (an inbox message was written). Sent with conn,
# id_number, kind, entry_id, correction_id, params: the hook for other channels (SMS),
# which word the message from kind and params in the resident's language.
resident_told = _signals.signal("resident-told")
