"""Helpers shared by several test areas (real peers: VictoriaMetrics, free ports)."""
