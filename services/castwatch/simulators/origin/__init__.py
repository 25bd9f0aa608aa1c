"""A live HLS + DASH packager origin with switchable faults (``castwatch sim origin``).

``model`` (pure, clock-driven state and faults), ``render`` (playlist/MPD text), ``media``
(tiny valid MPEG-TS and fMP4 segments), ``server`` (aiohttp app, ``OriginSimulator``,
``SimulatorThread``), ``cli``.
"""
