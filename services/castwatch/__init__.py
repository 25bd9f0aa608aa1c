"""castwatch: monitoring and failover for live video."""

__version__ = "0.1.0"
