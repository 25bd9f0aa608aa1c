from __future__ import annotations

import pytest

from castwatch.common.env import ConfigError
from castwatch.packager_monitor.settings import ProbeSettings
from castwatch.settings import Settings


def test_probe_settings_come_from_probe_variables():
    s = ProbeSettings.from_env({"PROBE_NAME": "edge-1", "PROBE_METRICS_BIND": "0.0.0.0:9200",
                                "PROBE_LEASE_TTL_S": "5", "PROBE_MAX_PER_HOST": "8",
                                "PROBE_TIMEOUT_S": "2.5", "PROBE_SEGMENT_SAMPLING": "0.25",
                                "PROBE_CLEAR_HOLD_S": "60"})
    assert (s.name, s.metrics_bind, s.lease_ttl_s, s.max_per_host) == ("edge-1", ("0.0.0.0", 9200), 5.0, 8)
    assert (s.timeout_s, s.segment_sampling, s.clear_hold_s) == (2.5, 0.25, 60.0)
    assert Settings.from_env({"PROBE_NAME": "x"}).probe.name == "x"


def test_defaults_work_on_a_laptop():
    s = ProbeSettings.from_env({})
    assert s.metrics_bind == ("127.0.0.1", 9101) and s.segment_sampling == 1.0 and s.ca_file is None
    assert s.name.startswith("probe-")


@pytest.mark.parametrize("name, value", [
    ("PROBE_SEGMENT_SAMPLING", "1.5"), ("PROBE_LEASE_TTL_S", "0"), ("PROBE_MAX_PER_HOST", "many"),
    ("PROBE_METRICS_BIND", "9101"), ("PROBE_CA_FILE", "/nonexistent/ca.pem"),
])
def test_bad_values_fail_at_start_naming_the_variable(name: str, value: str):
    with pytest.raises(ConfigError) as err:
        ProbeSettings.from_env({name: value})
    assert err.value.name == name
