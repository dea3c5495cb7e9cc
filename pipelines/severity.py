"""Severities, most severe first (analyzers.scoring decides them), and the one colour each has everywhere:
the case pages (style.css.j2 --high/--medium/--low), their pictures and the Kibana charts."""

from analyzers.scoring import SEVERITY_THRESHOLDS

SEVERITIES = tuple(name for name, _ in SEVERITY_THRESHOLDS)
COLOURS = {"high": "#b42318", "medium": "#b54708", "low": "#175cd3"}
