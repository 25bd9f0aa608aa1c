"""A local SMTP sink (``castwatch sim smtp``): accepts every message, keeps and prints it."""
