"""Putting a citizen's result on paper: A4 certificates through CUPS, receipt slips (§7.2)."""
