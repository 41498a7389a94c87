"""Upkeep (§8 g and the hall's routine): the daily self-test, consumables predicted before
they run out, and the kiosk's availability, all without personal data."""
