"""Kibana cannot run here, so what it would rely on is checked on the live node: every field the saved
objects use exists with a usable type, every KQL filter and README query returns the expected hits
(tests/unit/test_kibana_validator.py checks the objects against Kibana's import rules offline)."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from pipelines.cli import main
from pipelines.kibana import saved_objects
from pipelines.sinks.files import read_jsonl
from tests.conftest import EXAMPLES, FIXTURES, ROOT
from tests.helpers.kibana_rules import field_uses, views
from tests.helpers.kql import parse, to_dsl

pytestmark = pytest.mark.integration
QUERIES = yaml.safe_load((ROOT / "kibana" / "queries.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sample(es_config, tmp_path_factory):
    """The demo and the dev set, indexed through the CLI under a prefix of their own."""
    config = replace(es_config, prefix=f"{es_config.prefix}-kibana")
    docs = {"hits": [], "cases": []}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHATFORENSICS_ES_PREFIX", config.prefix)
        for name, export in (("demo", EXAMPLES / "slack-demo"), ("devset", FIXTURES / "devset")):
            out = tmp_path_factory.mktemp(name)
            assert main(["run", "--input", str(export), "--out", str(out), "--es-url", config.url, "--quiet"]) == 0
            for kind in docs:
                docs[kind] += read_jsonl(out / f"{kind}.jsonl")
    es = config.client()
    es.indices.refresh(index=f"{config.prefix}-*")
    return config, es, docs


def field_caps(es, index: str) -> dict[str, dict]:
    caps = es.field_caps(index=index, fields="*")["fields"]
    return {name: next(iter(types.values())) for name, types in caps.items()}


def values(doc, path: str) -> list:
    """Every value at a dotted path, through lists (as Elasticsearch sees an object array)."""
    found = [doc]
    for part in ([path] if path in doc else path.split(".")):
        found = [item for node in found for item in ((node.get(part),) if isinstance(node, dict) else ())]
        found = [x for item in found for x in (item if isinstance(item, list) else [item]) if x is not None]
    return found


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def matches(doc: dict, expect: dict) -> bool:
    got = values(doc, expect["field"])
    if "equals" in expect:
        return expect["equals"] in got
    if "in" in expect:
        return any(v in expect["in"] for v in got)
    if "contains" in expect:
        return any(expect["contains"] in v for v in got)
    if "contains_word" in expect:
        return any(expect["contains_word"] in words(v) for v in got)
    return any(expect["gte"] <= v < expect["lt"] for v in got)


def count(es, index: str, query: dict) -> int:
    return es.count(index=index, query=query)["count"]


def lucene(query: str) -> dict:
    return {"query_string": {"query": query}}


def test_data_views_have_a_date_time_field(sample):
    config, es, _ = sample
    for view in (o for o in saved_objects(config.prefix) if o["type"] == "index-pattern"):
        caps = field_caps(es, view["attributes"]["title"])
        assert caps[view["attributes"]["timeFieldName"]]["type"] == "date"


def test_every_field_the_objects_use_exists_with_a_usable_type(sample):
    """The offline validator judges fields by the index templates; the live node must agree."""
    config, es, _ = sample
    objects = saved_objects(config.prefix)
    kinds = views(objects)
    caps = {kind: field_caps(es, config.alias(kind)) for kind in ("hits", "cases")}
    numbers = {"float", "double", "long", "integer"}
    checked = 0
    for obj in objects:
        for kind, name, need in field_uses(obj, kinds)[0]:
            if name == "___records___":
                continue
            cap = caps[kind][name]
            ok = {"aggregatable": cap["aggregatable"], "date": cap["type"] == "date", "number": cap["type"] in numbers,
                  "number or date": cap["type"] in numbers | {"date"}, "exists": cap["searchable"]}[need]
            assert ok, (obj["attributes"]["title"], name, need, cap)
            checked += 1
    assert checked >= 40


def test_every_kql_string_of_the_objects_finds_what_the_jsonl_holds(sample):
    """The Lens filters (one per severity) and the empty queries, counted on the live index."""
    config, es, docs = sample
    objects = saved_objects(config.prefix)
    kinds = views(objects)
    seen = 0
    for obj in objects:
        for kind, query in field_uses(obj, kinds)[1]:
            tree = parse(query)
            if kind is None:  # the dashboard's own (empty) query, over every panel's data view
                assert tree == ("match_all",)
                continue
            if tree == ("match_all",):
                expected = len(docs[kind])
            else:
                [severity] = re.fullmatch(r'detection\.severity : "(\w+)"', query).groups()
                expected = sum(h["detection"]["severity"] == severity for h in docs["hits"])
            assert count(es, config.alias(kind), to_dsl(tree)) == expected, (obj["attributes"]["title"], query)
            seen += 1
    assert seen >= 5


@pytest.mark.parametrize("query", QUERIES, ids=[q["id"] for q in QUERIES])
def test_investigator_query(sample, query):
    config, es, docs = sample
    case_id = sorted(c["case"]["id"] for c in docs["cases"])[0]
    spec = json.loads(json.dumps(query, ensure_ascii=False).replace("{case_id}", case_id))
    index = config.alias(spec["index"])
    expected = sum(matches(doc, spec["expect"]) for doc in docs[spec["index"]])
    assert expected > 0, f"the sample has nothing for {spec['id']}; the query proves nothing"
    assert count(es, index, spec["es"]) == expected
    assert count(es, index, lucene(spec["lucene"])) == expected
    assert count(es, index, to_dsl(parse(spec["kql"]))) == expected


def test_readme_shows_every_investigator_query():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for query in QUERIES:
        assert query["lucene"] in readme and query["kql"] in readme, query["id"]
        assert json.dumps(query["es"], ensure_ascii=False) in readme, query["id"]


def test_saved_objects_file_is_one_object_per_line():
    lines = Path(ROOT / "kibana" / "saved_objects.ndjson").read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    assert {o["type"] for o in objects} == {"index-pattern", "search", "lens", "dashboard"}
