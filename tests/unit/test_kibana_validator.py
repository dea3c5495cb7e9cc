"""The Kibana objects are generated, shipped as generated, and pass Kibana 9's import rules as far as they can
be checked offline (tests/helpers/kibana_rules.py says which rule comes from which Kibana source file); broken copies
fail them. A live Kibana import is not tested here (no Kibana on this machine)."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from analyzers.rules import CATEGORIES
from pipelines.kibana_build import DISCOVER_COLUMNS, OUTPUT, build, object_id, to_ndjson
from pipelines.severity import COLOURS, SEVERITIES
from tests.conftest import ROOT
from tests.helpers.kibana_rules import problems, query_problems
from tests.helpers.kql import KqlError, parse

SHIPPED = ROOT / "kibana" / "saved_objects.ndjson"
QUERIES = yaml.safe_load((ROOT / "kibana" / "queries.yaml").read_text(encoding="utf-8"))


def by_title(objects: list[dict], title: str) -> dict:
    return next(o for o in objects if o["attributes"]["title"].endswith(title))


def attrs_json(obj: dict, key: str):
    return json.loads(obj["attributes"][key])


def test_the_shipped_file_is_what_the_builder_writes_byte_for_byte():
    assert SHIPPED.read_bytes() == to_ndjson(build()).encode(), (
        "kibana/saved_objects.ndjson is stale: run `make kibana-objects` (python -m pipelines.kibana_build)")
    assert OUTPUT.resolve() == SHIPPED.resolve()  # the package's copy is the same file (a link)


def test_the_shipped_objects_pass_every_rule():
    objects = [json.loads(line) for line in SHIPPED.read_text(encoding="utf-8").splitlines()]
    assert problems(objects) == []


def test_every_kql_string_of_queries_yaml_parses_and_names_mapped_fields():
    assert query_problems(QUERIES) == []


def test_another_prefix_gets_its_own_ids_titles_and_indices():
    default, other = build(), build("case42")
    assert problems(other) == []
    assert not {o["id"] for o in default} & {o["id"] for o in other}
    assert {o["attributes"]["title"] for o in other if o["type"] == "index-pattern"} == {"case42-hits",
                                                                                       "case42-cases"}
    ids = {o["id"] for o in other}
    assert all(r["id"] in ids for o in other for r in o["references"])  # every reference rewritten
    assert by_title(other, "overview")["id"] == object_id("case42", "overview") == build("case42")[-1]["id"]


def test_the_dashboard_and_discover_session_restore_the_time_range():
    objects = build(time=("2025-03-04T00:00:00.000Z", "2025-03-06T00:00:00.000Z"))
    board, discover = by_title(objects, "overview"), by_title(objects, "flagged messages")
    assert {k: board["attributes"][k] for k in ("timeRestore", "timeFrom", "timeTo")} == {
        "timeRestore": True, "timeFrom": "2025-03-04T00:00:00.000Z", "timeTo": "2025-03-06T00:00:00.000Z"}
    assert discover["attributes"]["timeRestore"] is True
    assert discover["attributes"]["timeRange"] == {"from": "2025-03-04T00:00:00.000Z",
                                                   "to": "2025-03-06T00:00:00.000Z"}


def test_one_discover_session_with_the_investigators_columns_sorted_by_time():
    searches = [o for o in build() if o["type"] == "search"]
    assert len(searches) == 1
    assert searches[0]["attributes"]["columns"] == list(DISCOVER_COLUMNS)
    assert searches[0]["attributes"]["sort"] == [["@timestamp", "asc"]]
    assert {o["type"] for o in build()} == {"index-pattern", "search", "lens", "dashboard"}  # no legacy vis


def test_the_dashboard_holds_lens_panels_the_discover_session_and_the_controls():
    objects = build()
    board = by_title(objects, "overview")
    panels = attrs_json(board, "panelsJSON")
    assert {p["type"] for p in panels} == {"lens", "search"}
    assert sum(p["type"] == "lens" for p in panels) == 10
    controls = json.loads(board["attributes"]["controlGroupInput"]["panelsJSON"])
    fields = {c["explicitInput"]["fieldName"]: c["type"] for c in controls.values()}
    assert fields == {"detection.severity": "optionsListControl", "detection.categories": "optionsListControl",
                      "detection.rules": "optionsListControl", "conversation.name": "optionsListControl",
                      "author.name": "optionsListControl", "case.id": "optionsListControl",
                      "detection.score": "rangeSliderControl"}


def test_hits_over_time_has_one_fixed_colour_per_severity_and_categories_show_every_category():
    objects = build()
    over_time = by_title(objects, "Hits over time by severity")["attributes"]["state"]
    layer = over_time["visualization"]["layers"][0]
    columns = over_time["datasourceStates"]["formBased"]["layers"]["layer"]["columns"]
    colours = {columns[y["forAccessor"]]["filter"]["query"]: y["color"] for y in layer["yConfig"]}
    assert colours == {f'detection.severity : "{s}"': COLOURS[s] for s in SEVERITIES}
    categories = by_title(objects, "Categories")["attributes"]["state"]["datasourceStates"]
    assert categories["formBased"]["layers"]["layer"]["columns"]["bucket"]["params"]["size"] == len(CATEGORIES)


def test_data_views_carry_labels_formats_and_allow_no_index():
    objects = build(reports_url="file:///cases/out/")
    hits, cases = by_title(objects, "chatforensics-hits"), by_title(objects, "chatforensics-cases")
    for view in (hits, cases):
        assert view["attributes"]["allowNoIndex"] is True
    assert attrs_json(hits, "fieldAttrs")["author.name"] == {"customLabel": "Author"}
    assert attrs_json(hits, "fieldFormatMap")["detection.score"] == {"id": "number", "params": {"pattern": "0.00"}}
    assert attrs_json(hits, "fieldFormatMap")["case.id"]["params"]["urlTemplate"] == \
        "file:///cases/out/reports/cases/{{value}}.html"
    assert attrs_json(cases, "fieldFormatMap")["report.path"]["id"] == "url"
    assert attrs_json(cases, "fieldFormatMap")["score"]["params"]["pattern"] == "0.00"


# --------------------------------------------------------------------------- broken copies fail

def lens_column(objects, title, column):
    return by_title(objects, title)["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer"][
        "columns"][column]


def wrong_field_type(objects):
    lens_column(objects, "Top conversations", "bucket")["sourceField"] = "message.text"  # text: no terms agg


def _set_control_field(objects, control: str, field: str):
    group = by_title(objects, "overview")["attributes"]["controlGroupInput"]
    controls = json.loads(group["panelsJSON"])
    controls[control]["explicitInput"]["fieldName"] = field
    group["panelsJSON"] = json.dumps(controls)


def unmapped_control_field(objects):
    _set_control_field(objects, "severity", "detection.level")


def range_on_keyword(objects):
    _set_control_field(objects, "score", "detection.severity")


def unknown_attribute(objects):
    by_title(objects, "overview")["attributes"]["panelJSON"] = "[]"  # a typo Kibana 9's v1 schema forbids


def unknown_nested_attribute(objects):
    by_title(objects, "flagged messages")["attributes"]["timeRange"]["mode"] = "absolute"


def bad_kql(objects):
    lens_column(objects, "High-severity hits", "high")["filter"]["query"] = 'detection.severity : ("high"'


def kql_on_unmapped_field(objects):
    lens_column(objects, "High-severity hits", "high")["filter"]["query"] = 'severity : "high"'


def version_too_new(objects):
    by_title(objects, "overview")["typeMigrationVersion"] = "10.5.0"


def lens_version_too_new(objects):
    by_title(objects, "Top rules")["typeMigrationVersion"] = "10.2.0"


def core_version_too_new(objects):
    by_title(objects, "Top rules")["coreMigrationVersion"] = "9.9.0"


def missing_reference(objects):
    objects.remove(by_title(objects, "Top participants"))


def panel_without_reference(objects):
    board = by_title(objects, "overview")
    board["references"] = [r for r in board["references"] if not r["name"].startswith("categories:")]


def overlapping_panels(objects):
    board = by_title(objects, "overview")
    panels = attrs_json(board, "panelsJSON")
    panels[1]["gridData"]["x"] = 6
    board["attributes"]["panelsJSON"] = json.dumps(panels)


def outside_the_grid(objects):
    board = by_title(objects, "overview")
    panels = attrs_json(board, "panelsJSON")
    panels[-1]["gridData"]["w"] = 50
    board["attributes"]["panelsJSON"] = json.dumps(panels)


def discover_column_unmapped(objects):
    by_title(objects, "flagged messages")["attributes"]["columns"].append("message.body")


BROKEN = {
    wrong_field_type: "'message.text' is text, not aggregatable",
    unmapped_control_field: "'detection.level' is not in the hits mapping",
    range_on_keyword: "'detection.severity' is keyword, not number",
    unknown_attribute: "unknown attribute attributes.panelJSON",
    unknown_nested_attribute: "unknown attribute attributes.timeRange.mode",
    bad_kql: "KQL syntax error",
    kql_on_unmapped_field: "KQL field 'severity' is not in the hits mapping",
    version_too_new: "typeMigrationVersion 10.5.0 is newer than dashboard knows (10.4.0)",
    lens_version_too_new: "typeMigrationVersion 10.2.0 is newer than lens knows (10.1.0)",
    core_version_too_new: "coreMigrationVersion 9.9.0 is newer than Kibana 9.0.0",
    missing_reference: "is not in the file",
    panel_without_reference: "panel categories has no lens reference",
    overlapping_panels: "overlap",
    outside_the_grid: "outside the 48-column grid",
    discover_column_unmapped: "'message.body' is not in the hits mapping",
}


@pytest.mark.parametrize("breakage", list(BROKEN), ids=[f.__name__ for f in BROKEN])
def test_a_broken_copy_fails_with_the_reason(breakage):
    objects = copy.deepcopy(build())
    breakage(objects)
    found = problems(objects)
    assert any(BROKEN[breakage] in line for line in found), found


def test_a_query_with_bad_kql_or_an_unmapped_field_fails():
    broken = [{"id": "x", "index": "hits", "kql": 'author.name : "Priya" and'},
              {"id": "y", "index": "cases", "kql": 'detection.severity : "high"'}]  # a hits field, on cases
    found = query_problems(broken)
    assert len(found) == 2 and "syntax error" in found[0] and "not in the cases mapping" in found[1]


# --------------------------------------------------------------------------- the KQL parser itself

@pytest.mark.parametrize("query, tree", [
    ("", ("match_all",)),
    ('a : "x"', ("is", ("a", False, False), ("x", True, False))),
    ("a:x or b:y", ("or", [("is", ("a", False, False), ("x", False, False)),
                           ("is", ("b", False, False), ("y", False, False))])),
    ("not a:x", ("not", ("is", ("a", False, False), ("x", False, False)))),
    ("a : (x and not y)", ("and", [("is", ("a", False, False), ("x", False, False)),
                                   ("not", ("is", ("a", False, False), ("y", False, False)))])),
    ("n:{ a:x }", ("nested", ("n", False, False), ("is", ("a", False, False), ("x", False, False)))),
    ("@timestamp >= now-1d", ("range", ("@timestamp", False, False), "gte", ("now-1d", False, False))),
    ("message*: hi", ("is", ("message*", False, True), ("hi", False, False))),
    (r"a: x\:y", ("is", ("a", False, False), ("x:y", False, False))),
    ('a: "say \\"hi\\""', ("is", ("a", False, False), ('say "hi"', True, False))),
    ("a: x  ", ("is", ("a", False, False), ("x", False, False))),
    ("free text words", ("is", None, ("free text words", False, False))),
])
def test_kql_parses_as_the_grammar_says(query, tree):
    assert parse(query) == tree


@pytest.mark.parametrize("query", ['a : "open', "a : (x or", "(a:x", "a:x)", "a >=", "a: x \\y", "a:x or ",
                                   "a: {", "< 3"])
def test_kql_the_grammar_refuses(query):
    with pytest.raises(KqlError):
        parse(query)
