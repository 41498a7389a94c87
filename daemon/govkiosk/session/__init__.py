"""The citizen's session (§7, §8 d): one journey through an item's steps, in memory only.

``manager`` owns one session at a time (power stage, timers, walk-away, the wipe at
the end); ``flow`` runs an item's catalogue steps, ``steps`` implements them; ``state``
holds the session's personal data; ``failures`` and ``prompts`` are what the citizen is
told; ``service`` is the supervised ``session`` service.
"""
