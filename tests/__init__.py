"""castwatch tests: a package, so areas can share helpers as tests.<area>.<module>."""
