"""The care app's writes and the questions they ask, one module per stage of a session's
life (docs/sessions.md):

- ``consents``: versioned templates, signing, revocation, what consents are in force;
- ``check``: the only door to the safety engine (its input built with the engine's own
  types, the history, the clinic's own findings, overrides attached); reads only;
- ``plans``: treatment plans, their live schedule, prescriptions;
- ``lifecycle``: the one status door (``set_session_status``), create, start, cancel;
- ``charting``: the brush, points, zone entries, edits, supplies, mixtures, packs, items,
  overrides, all through one lock-check-audit context manager (``charting``);
- ``followups``: follow-ups created at signing, marking them done, the board;
- ``signing``: sign-off (stock, packs, follow-ups in one transaction), co-sign, addenda.

Every write is a ``do_*`` function in ``transaction.atomic`` that writes its audit event;
views, commands, the demo and tests call them with typed, validated values (forms at the
boundary). Modules depend downward in the order above, never back up.
"""
