"""Kibana saved objects, generated: `python -m pipelines.kibana_build` (or `make kibana-objects`) writes
kibana/saved_objects.ndjson. Edit this module, never the ndjson: a test regenerates the file and compares.

Built from what the objects describe, so they cannot drift from it: the fields of the index templates
(pipelines/sinks/index_templates), the rule categories (analyzers.rules.CATEGORIES) and the severities
(analyzers.scoring.SEVERITY_THRESHOLDS, coloured as in the case reports).

What a prefix P gets (`build(P)`; the shipped file is `build("chatforensics")`):
  * data views for P-hits and P-cases: field labels, formats (scores with two decimals, case ids and report
    paths as links to the case reports), allowNoIndex so installing before the first run works;
  * one Discover session over the hits, with the columns an investigator reads, oldest first;
  * Lens panels and the "overview" dashboard with controls and a restored time range (`time=`, set by
    `chatforensics kibana install` from the indexed data).
Every id is a UUID derived from P and the object's name, so two prefixes coexist in one Kibana space.

Version stamps are the oldest model versions that carry every attribute used here (Kibana migrates older
stamps up on import and refuses newer ones); tests/kibana_rules.py says which Kibana source each rule and
number comes from, and tests/unit/test_kibana_validator.py holds these objects to them.
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from analyzers.rules import CATEGORIES
from analyzers.scoring import SEVERITY_THRESHOLDS
from pipelines.severity import COLOURS as SEVERITY_COLOURS
from pipelines.severity import SEVERITIES

DEFAULT_PREFIX = "chatforensics"
# kibana/ ships inside the package through the pipelines/kibana_objects link, so a wheel has it too.
OUTPUT = Path(__file__).parent / "kibana_objects" / "saved_objects.ndjson"
INDEX_TEMPLATES = Path(__file__).parent / "sinks" / "index_templates"
NAMESPACE = uuid.UUID("5b0f4a52-3c2e-4d5e-9a51-6e0c1f9d2b17")  # fixed: ids must not change between builds
DEFAULT_TIME = ("now-1y", "now")  # before any data is indexed (install replaces it with the data's range)

# Stamps (see the module docstring): coreMigrationVersion 8.8.0 is the last core transform; the type
# stamps are legacy versions (index-pattern, lens) or virtual model versions 10.<n>.0 (search, dashboard).
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "search": "10.1.0", "lens": "8.9.0", "dashboard": "10.1.0"}

AGGREGATABLE = {"keyword", "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                "unsigned_long", "date", "date_nanos", "boolean", "ip", "version", "constant_keyword"}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}

# Readable names for the fields an investigator meets first; the others keep their field names.
LABELS = {
    "hits": {
        "@timestamp": "Time", "author.name": "Author", "author.email": "Author e-mail",
        "conversation.name": "Conversation", "conversation.type": "Conversation type", "platform": "Platform",
        "message.text": "Message", "message.language": "Language", "thread.id": "Thread",
        "detection.severity": "Severity", "detection.score": "Score", "detection.rules": "Rules",
        "detection.categories": "Categories", "detection.explanation": "Why",
        "detection.matches.term": "Matched term", "case.id": "Case", "source.path": "Source file",
        "source.pointer": "Position in source", "entities.type": "Finding type", "run.id": "Run",
    },
    "cases": {
        "@timestamp": "Time", "case.id": "Case", "title": "Title", "severity": "Severity", "score": "Score",
        "participants": "Participants", "first_seen": "First seen", "last_seen": "Last seen",
        "hit_count": "Flagged messages", "report.path": "Report", "conversation.name": "Conversation",
        "summary": "Summary", "run.id": "Run",
    },
}
DISCOVER_COLUMNS = ("@timestamp", "author.name", "conversation.name", "message.text", "detection.severity",
                    "detection.score", "detection.rules", "case.id", "source.path")
CONTROLS = (  # (id, field, title): option lists, then the score range
    ("severity", "detection.severity", "Severity"),
    ("categories", "detection.categories", "Categories"),
    ("rules", "detection.rules", "Rules"),
    ("conversation", "conversation.name", "Conversation"),
    ("author", "author.name", "Author"),
    ("case", "case.id", "Case"),
)
SCORE_CONTROL = ("score", "detection.score", "Score")


def mapping_fields(kind: str) -> dict[str, str]:
    """Every field of an index template, dotted (multi-fields too), with its Elasticsearch type."""
    mappings = json.loads((INDEX_TEMPLATES / f"{kind}.json").read_text())["mappings"]
    found: dict[str, str] = {}

    def walk(properties: dict, path: str) -> None:
        for name, spec in properties.items():
            full = f"{path}{name}"
            if "properties" in spec:
                walk(spec["properties"], f"{full}.")
                continue
            found[full] = spec["type"]
            for sub, sub_spec in spec.get("fields", {}).items():
                found[f"{full}.{sub}"] = sub_spec["type"]

    walk(mappings["properties"], "")
    return found


def object_id(prefix: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{prefix}/{name}"))


def _json(value) -> str:
    """Kibana keeps several attributes as JSON inside a string."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _stamped(type_: str, id_: str, attributes: dict, references: list[dict]) -> dict:
    return {"attributes": attributes, "coreMigrationVersion": CORE_MIGRATION_VERSION, "id": id_,
            "references": references, "type": type_,
            "typeMigrationVersion": TYPE_MIGRATION_VERSION[type_]}


def _kql(query: str = "") -> dict:
    return {"language": "kuery", "query": query}


# --------------------------------------------------------------------------- data views

def data_view(prefix: str, kind: str, reports_url: str | None) -> dict:
    fields = mapping_fields(kind)
    labels = {name: {"customLabel": label} for name, label in LABELS[kind].items() if name in fields}
    two_decimals = {"id": "number", "params": {"pattern": "0.00"}}
    formats = {name: two_decimals for name, type_ in fields.items()
               if type_ in ("float", "double") and name.rsplit(".", 1)[-1] == "score"}
    base = f"{reports_url.rstrip('/')}/" if reports_url else ""  # relative links without --reports-url
    if kind == "cases":
        formats["report.path"] = _link(base + "{{value}}", "{{value}}")
    else:  # a hit's case id opens the case report
        formats["case.id"] = _link(base + "reports/cases/{{value}}.html", "{{value}}")
    return _stamped("index-pattern", object_id(prefix, f"data-view-{kind}"), {
        "allowNoIndex": True,
        "fieldAttrs": _json(labels),
        "fieldFormatMap": _json(formats),
        "fields": "[]",
        "name": f"{prefix} {kind}",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "timeFieldName": "@timestamp",
        "title": f"{prefix}-{kind}",
    }, [])


def _link(url_template: str, label_template: str) -> dict:
    return {"id": "url", "params": {"labelTemplate": label_template, "type": "a", "urlTemplate": url_template}}


# --------------------------------------------------------------------------- Lens

@dataclass
class Lens:
    """One Lens visualization over one data view, with a single form-based layer."""

    name: str
    title: str
    visualization_type: str  # lnsXY, lnsMetric, lnsDatatable
    columns: dict[str, dict]  # column id -> column
    visualization: dict
    description: str = ""
    view: str = "hits"
    layer: str = "layer"

    def saved_object(self, prefix: str) -> dict:
        layer = {"columnOrder": list(self.columns), "columns": self.columns, "incompleteColumns": {},
                 "sampling": 1}
        state = {
            "adHocDataViews": {},
            "datasourceStates": {"formBased": {"layers": {self.layer: layer}}, "textBased": {"layers": {}}},
            "filters": [],
            "internalReferences": [],
            "query": _kql(),
            "visualization": {"layerId": self.layer, "layerType": "data", **self.visualization},
        }
        reference = {"id": object_id(prefix, f"data-view-{self.view}"), "name": f"indexpattern-datasource-layer-"
                     f"{self.layer}", "type": "index-pattern"}
        return _stamped("lens", object_id(prefix, self.name), {
            "description": self.description, "state": state, "title": f"{prefix}: {self.title}",
            "visualizationType": self.visualization_type}, [reference])


def count(label: str, kql: str | None = None) -> dict:
    column = {"customLabel": True, "dataType": "number", "isBucketed": False, "label": label,
              "operationType": "count", "params": {"emptyAsNull": True}, "scale": "ratio",
              "sourceField": "___records___"}
    if kql is not None:
        column["filter"] = _kql(kql)
    return column


def metric(operation: str, field_name: str, label: str, data_type: str = "number") -> dict:
    return {"customLabel": True, "dataType": data_type, "isBucketed": False, "label": label,
            "operationType": operation, "params": {"emptyAsNull": True}, "scale": "ratio",
            "sourceField": field_name}


def last_value(field_name: str, label: str) -> dict:
    return {"customLabel": True, "dataType": "string", "isBucketed": False, "label": label,
            "operationType": "last_value", "params": {"showArrayValues": False, "sortField": "@timestamp"},
            "scale": "ordinal", "sourceField": field_name}


def terms(field_name: str, label: str, size: int, order_by: str) -> dict:
    return {"customLabel": True, "dataType": "string", "isBucketed": True, "label": label,
            "operationType": "terms", "scale": "ordinal", "sourceField": field_name,
            "params": {"exclude": [], "excludeIsRegex": False, "include": [], "includeIsRegex": False,
                       "missingBucket": False, "orderBy": {"columnId": order_by, "type": "column"},
                       "orderDirection": "desc", "otherBucket": False, "parentFormat": {"id": "terms"},
                       "size": size}}


def date_histogram(field_name: str = "@timestamp") -> dict:
    return {"dataType": "date", "isBucketed": True, "label": field_name, "operationType": "date_histogram",
            "params": {"dropPartials": False, "includeEmptyRows": True, "interval": "auto"},
            "scale": "interval", "sourceField": field_name}


def xy(series_type: str, x: str, accessors: list[str], colours: dict[str, str] | None = None,
       legend: bool = False) -> dict:
    layer = {"accessors": accessors, "layerId": "layer", "layerType": "data", "seriesType": series_type,
             "xAccessor": x}
    if colours:
        layer["yConfig"] = [{"color": colour, "forAccessor": accessor} for accessor, colour in colours.items()]
    return {"axisTitlesVisibilitySettings": {"x": False, "yLeft": False, "yRight": False},
            "fittingFunction": "None", "layers": [layer],
            "legend": {"isVisible": legend, "position": "right"}, "preferredSeriesType": series_type,
            "valueLabels": "hide"}


def severity_kql(severity: str) -> str:
    return f'detection.severity : "{severity}"'


def score_palette() -> dict:
    """Cell colours of a score column: the severity bands of analyzers.scoring, in the reports' colours."""
    bands = sorted((floor, name) for name, floor in SEVERITY_THRESHOLDS)  # low first
    color_stops = [{"color": SEVERITY_COLOURS[name], "stop": floor} for floor, name in bands]
    ends = [stop["stop"] for stop in color_stops[1:]] + [1]
    stops = [{"color": stop["color"], "stop": end} for stop, end in zip(color_stops, ends, strict=True)]
    return {"name": "custom", "type": "palette",
            "params": {"colorStops": color_stops, "continuity": "none", "maxSteps": 5, "name": "custom",
                       "progression": "fixed", "rangeMax": 1, "rangeMin": 0, "rangeType": "number",
                       "reverse": False, "steps": len(stops), "stops": stops}}


def lenses() -> list[Lens]:
    per_severity = {f"hits_{s}": count(s.capitalize(), severity_kql(s)) for s in SEVERITIES}
    top = {"conversation.name": ("top-conversations", "Top conversations", "Conversation"),
           "author.name": ("top-participants", "Top participants", "Author"),
           "detection.rules": ("top-rules", "Top rules", "Rule")}
    bars = [
        Lens(name, title, "lnsXY", {"bucket": terms(field_name, label, 10, "hits"), "hits": count("Hits")},
             xy("bar_horizontal", "bucket", ["hits"]), description="Click a bar to filter the dashboard.")
        for field_name, (name, title, label) in top.items()
    ]
    return [
        Lens("metric-hits", "Hits", "lnsMetric", {"hits": count("Hits")}, {"metricAccessor": "hits"}),
        Lens("metric-cases", "Cases", "lnsMetric", {"cases": metric("unique_count", "case.id", "Cases")},
             {"metricAccessor": "cases"}),
        Lens("metric-high", "High-severity hits", "lnsMetric", {"high": count("High severity", severity_kql("high"))},
             {"metricAccessor": "high"}),
        Lens("metric-people", "People involved", "lnsMetric",
             {"people": metric("unique_count", "author.name", "People")}, {"metricAccessor": "people"}),
        Lens("hits-over-time", "Hits over time by severity", "lnsXY", {"time": date_histogram(), **per_severity},
             xy("bar_stacked", "time", list(per_severity),
                {f"hits_{s}": SEVERITY_COLOURS[s] for s in SEVERITIES}, legend=True),
             description="Flagged messages per interval, one colour per severity."),
        Lens("categories", "Categories", "lnsXY",
             {"bucket": terms("detection.categories", "Category", len(CATEGORIES), "hits"), "hits": count("Hits")},
             xy("bar_horizontal", "bucket", ["hits"]), description="Hits carrying each signal category."),
        *bars,
        Lens("cases-table", "Cases", "lnsDatatable", {
            "case": terms("case.id", "Case (opens the report)", 500, "score"),
            # the severity of the case's highest-scoring hit: the case's own (analyzers/cases.py)
            "severity": terms("detection.severity", "Severity", 1, "score"),
            "score": metric("max", "detection.score", "Highest score (colour: severity)"),
            "conversation": last_value("conversation.name", "Conversation"),
            "hits": count("Flagged messages"),
            "people": metric("unique_count", "author.name", "People"),
            "first": metric("min", "@timestamp", "First", "date"),
            "last": metric("max", "@timestamp", "Last", "date"),
        }, {
            "columns": [{"columnId": c, "isTransposed": False,
                         **({"colorMode": "cell", "palette": score_palette()} if c == "score" else {})}
                        for c in ("case", "severity", "score", "conversation", "hits", "people", "first", "last")],
            "sorting": {"columnId": "score", "direction": "desc"},
        }, description="One row per case, most severe first; the controls filter it like every other panel."),
    ]


# --------------------------------------------------------------------------- Discover session, dashboard

def discover_session(prefix: str, time: tuple[str, str]) -> dict:
    source = {"filter": [], "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index", "query": _kql()}
    return _stamped("search", object_id(prefix, "discover-hits"), {
        "columns": list(DISCOVER_COLUMNS),
        "description": "Every flagged message, oldest first, with who said it where, why it was flagged and "
                       "its source. Narrow it with the dashboard's controls or the search bar.",
        "grid": {},
        "hideChart": False,
        "isTextBasedQuery": False,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _json(source)},
        "refreshInterval": {"pause": True, "value": 0},
        "sort": [["@timestamp", "asc"]],
        "timeRange": {"from": time[0], "to": time[1]},
        "timeRestore": True,
        "title": f"{prefix}: flagged messages",
    }, [{"id": object_id(prefix, "data-view-hits"), "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
         "type": "index-pattern"}])


@dataclass
class Panel:
    name: str  # the saved object's name (its id comes from the prefix)
    type: str
    title: str  # shown on the dashboard (the object's own title also names the prefix)
    x: int
    y: int
    w: int
    h: int


LAYOUT = (  # 48 columns wide; y grows downwards
    Panel("metric-hits", "lens", "Hits", 0, 0, 12, 6), Panel("metric-cases", "lens", "Cases", 12, 0, 12, 6),
    Panel("metric-high", "lens", "High-severity hits", 24, 0, 12, 6),
    Panel("metric-people", "lens", "People involved", 36, 0, 12, 6),
    Panel("hits-over-time", "lens", "Hits over time by severity", 0, 6, 48, 12),
    Panel("categories", "lens", "Categories", 0, 18, 16, 14),
    Panel("top-conversations", "lens", "Top conversations", 16, 18, 16, 14),
    Panel("top-participants", "lens", "Top participants", 32, 18, 16, 14),
    Panel("cases-table", "lens", "Cases", 0, 32, 32, 16), Panel("top-rules", "lens", "Top rules", 32, 32, 16, 16),
    Panel("discover-hits", "search", "Flagged messages", 0, 48, 48, 20),
)


def controls(prefix: str) -> tuple[dict, list[dict]]:
    hits_view = object_id(prefix, "data-view-hits")
    panels, references = {}, []
    for order, (cid, field_name, title) in enumerate(CONTROLS):
        panels[cid] = {"explicitInput": {"enhancements": {}, "fieldName": field_name, "id": cid,
                                         "searchTechnique": "prefix", "selectedOptions": [],
                                         "sort": {"by": "_count", "direction": "desc"}, "title": title},
                       "grow": True, "order": order, "type": "optionsListControl", "width": "small"}
        references.append({"id": hits_view, "name": f"controlGroup_{cid}:optionsListDataView",
                           "type": "index-pattern"})
    cid, field_name, title = SCORE_CONTROL
    panels[cid] = {"explicitInput": {"enhancements": {}, "fieldName": field_name, "id": cid, "step": 0.05,
                                     "title": title},
                   "grow": True, "order": len(CONTROLS), "type": "rangeSliderControl", "width": "medium"}
    references.append({"id": hits_view, "name": f"controlGroup_{cid}:rangeSliderDataView", "type": "index-pattern"})
    group = {"chainingSystem": "HIERARCHICAL", "controlStyle": "oneLine",
             "ignoreParentSettingsJSON": _json({"ignoreFilters": False, "ignoreQuery": False,
                                                "ignoreTimerange": False, "ignoreValidations": False}),
             "panelsJSON": _json(panels)}
    return group, references


def dashboard(prefix: str, time: tuple[str, str]) -> dict:
    panels, references = [], []
    for panel in LAYOUT:
        panels.append({"embeddableConfig": {"enhancements": {}, "title": panel.title}, "panelIndex": panel.name,
                       "gridData": {"h": panel.h, "i": panel.name, "w": panel.w, "x": panel.x, "y": panel.y},
                       "panelRefName": f"panel_{panel.name}", "type": panel.type})
        references.append({"id": object_id(prefix, panel.name), "name": f"{panel.name}:panel_{panel.name}",
                           "type": panel.type})
    group, control_references = controls(prefix)
    return _stamped("dashboard", object_id(prefix, "overview"), {
        "controlGroupInput": group,
        "description": "Flagged messages of the indexed runs: counts, hits over time by severity, categories, "
                       "top conversations, participants and rules, the cases, and the messages themselves.",
        "kibanaSavedObjectMeta": {"searchSourceJSON": _json({"filter": [], "query": _kql()})},
        "optionsJSON": _json({"hidePanelTitles": False, "syncColors": False, "syncCursor": True,
                              "syncTooltips": False, "useMargins": True}),
        "panelsJSON": _json(panels),
        "refreshInterval": {"pause": True, "value": 0},
        "timeFrom": time[0],
        "timeRestore": True,
        "timeTo": time[1],
        "title": f"{prefix}: overview",
    }, references + control_references)


def build(prefix: str = DEFAULT_PREFIX, time: tuple[str, str] = DEFAULT_TIME,
          reports_url: str | None = None) -> list[dict]:
    """The saved objects for one index prefix, in import order (what others refer to comes first)."""
    return [
        data_view(prefix, "hits", reports_url),
        data_view(prefix, "cases", reports_url),
        discover_session(prefix, time),
        *(lens.saved_object(prefix) for lens in lenses()),
        dashboard(prefix, time),
    ]


def to_ndjson(objects: list[dict]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in objects)


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else OUTPUT
    objects = build()
    target.write_text(to_ndjson(objects), encoding="utf-8")
    print(f"wrote {len(objects)} saved objects to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
