"""Validation rules: pure functions from parsed playlists, samples and times to verdicts.

Each module is one rule family; every function returns :class:`~.base.Verdict` objects for the
alert types it has evidence about this time (``bad`` True or False) and leaves out the types it
cannot judge. Debouncing (raise after a hold, clear after a hold) happens later, in
``packager_monitor.alerting``; rules never keep state.
"""
