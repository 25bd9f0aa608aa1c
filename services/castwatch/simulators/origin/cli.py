"""Run a simulated live packager origin: N channels with an ABR ladder as HLS (master, media
playlists, MPEG-TS segments) and DASH (MPD with SegmentTimeline, fMP4 segments), advancing in
real time, with faults switchable at run time through ``/_sim/faults`` (see docs/probe.md).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re

from castwatch.common.logging import configure_logging
from castwatch.settings import Settings
from castwatch.simulators.origin.model import SimConfig
from castwatch.simulators.origin.server import OriginSimulator

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (0 = any free port; default 8090)")
    parser.add_argument("--channels", type=int, default=4, help="number of channels (default 4)")
    parser.add_argument("--prefix", default="CH_SIM_", help="channel code prefix (default CH_SIM_)")
    parser.add_argument("--segment-seconds", type=float, default=2.0,
                        help="segment duration in seconds (default 2)")
    parser.add_argument("--window", type=int, default=6, help="segments per live window (default 6)")
    parser.add_argument("--uhd-channels", type=int, default=0,
                        help="how many of the channels also offer a 2160p HDR rung and Atmos (default 0)")
    parser.add_argument("--start-sequence", type=int, default=1000,
                        help="media sequence of the first segment, as if the origin had run a while "
                             "(default 1000; reset_sequence renumbers from 0)")
    parser.add_argument("--audio-languages", default="",
                        help="comma-separated languages of separate HLS audio renditions "
                             "(EXT-X-MEDIA TYPE=AUDIO, rendition audio_<lang>; e.g. en,fr; default none: "
                             "the sound is muxed in the video segments)")
    parser.add_argument("--real-media", action="store_true",
                        help="serve real H.264/AAC segments made by the ffmpeg binary (for the "
                             "probe's content layer; content faults turn them on anyway)")


async def _serve(sim: OriginSimulator) -> None:
    await sim.start()
    logger.info("origin simulator on %s: %d channels, try %s", sim.base_url,
                len(sim.model.channels), sim.master_url(next(iter(sim.model.channels))))
    print(f"origin simulator listening on {sim.base_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level, "sim-origin")
    if args.channels < 1 or args.window < 1 or args.segment_seconds <= 0:
        raise SystemExit("castwatch sim origin: --channels, --window and --segment-seconds must be > 0")
    languages = tuple(x.strip() for x in args.audio_languages.split(",") if x.strip())
    if any(not re.fullmatch(r"[A-Za-z0-9-]{1,16}", lang) for lang in languages):
        raise SystemExit("castwatch sim origin: --audio-languages are letters, digits and '-' (e.g. en,fr)")
    config = SimConfig(channels=args.channels, prefix=args.prefix, segment_s=args.segment_seconds,
                       window=args.window, uhd_channels=args.uhd_channels,
                       start_sequence=max(0, args.start_sequence), real_media=args.real_media,
                       audio_languages=languages)
    asyncio.run(_serve(OriginSimulator(config, args.host, args.port)))
    return 0
