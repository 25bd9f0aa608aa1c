"""The packager monitor (``castwatch probe``): live HLS/DASH validation at scale.

Map: ``hls`` (incremental media-playlist parser), ``master`` (ladder, badges), ``dash`` (MPD),
``segments`` (MPEG-TS / fMP4 byte checks), ``rules/`` (pure rules, one module per family),
``alerting`` (debounce → fire/clear operations), ``fetcher`` (aiohttp GETs), ``hls_worker`` /
``dash_worker`` (per-channel loops), ``service`` (the process: workers, leases, status),
``leases`` + ``store`` (PostgreSQL), ``certs`` (TLS expiry), ``cli``. See docs/probe.md.
"""
