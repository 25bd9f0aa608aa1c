"""A local Telegram Bot API stand-in (:mod:`.standin`) and ``castwatch sim telegram``."""
