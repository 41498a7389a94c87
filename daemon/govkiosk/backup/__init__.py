"""Backups: a copy of the state database and the configuration (§8 e).

The standard asks for backups of the database and the application at least every two
weeks; ``govkiosk-backup.timer`` runs this weekly. Each run writes one directory
``govkiosk-<UTC time>/`` holding a consistent snapshot of the SQLite database (SQLite's
online backup, safe while govkioskd writes in WAL mode), the configuration directory,
and ``VERSION`` — the package version to reinstall from the integrator's repository.
The newest ``keep`` backups are kept. The database holds no personal data (§8 d), so
neither does a backup.

A backup is assembled under a ``.partial`` name and renamed when complete: a run that
fails half-way never counts as a backup, and the next run clears it away.
"""
