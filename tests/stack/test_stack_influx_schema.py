"""docs/influx-schema.md (what Grafana reads) is exactly what the probe and the encoder manager
write: measurements, tags and fields, read from their ``InfluxSink.write(...)`` calls."""

from __future__ import annotations

from influx_schema import documented_schema, written_schema


def test_the_writers_write_exactly_the_documented_measurements() -> None:
    assert set(written_schema()) == set(documented_schema())


def test_every_documented_measurement_has_the_writers_tags_and_fields() -> None:
    written = written_schema()
    for measurement, (tags, fields) in documented_schema().items():
        code_tags, code_fields = written[measurement]
        assert code_tags == tags, f"{measurement}: code tags {sorted(code_tags)}, doc {sorted(tags)}"
        assert code_fields == fields, (
            f"{measurement}: code writes {sorted(code_fields - fields)} undocumented, "
            f"doc lists {sorted(fields - code_fields)} nobody writes")
