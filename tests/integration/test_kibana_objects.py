"""Kibana cannot run here, so what it would rely on is checked on the live node: every field the saved
objects use exists with a usable type, every saved search and README query returns the expected hits."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from analyzers.rules import CATEGORIES
from pipelines.cli import main
from pipelines.kibana import saved_objects
from pipelines.sinks.files import read_jsonl
from tests.conftest import EXAMPLES, FIXTURES, ROOT

pytestmark = pytest.mark.integration
QUERIES = yaml.safe_load((ROOT / "kibana" / "queries.yaml").read_text(encoding="utf-8"))
LUCENE_FIELD = re.compile(r"([A-Za-z@][\w.@]*):")


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


def searches() -> list[dict]:
    return [o for o in saved_objects() if o["type"] == "search"]


def index_of(obj: dict, prefix: str) -> str:
    view = obj["references"][0]["id"]
    return prefix + view.removeprefix("chatforensics")


def test_data_views_have_a_date_time_field(sample):
    config, es, _ = sample
    for view in (o for o in saved_objects(config.prefix) if o["type"] == "index-pattern"):
        caps = field_caps(es, view["attributes"]["title"])
        assert caps[view["attributes"]["timeFieldName"]]["type"] == "date"


def test_every_field_the_objects_use_exists_with_a_usable_type(sample):
    config, es, _ = sample
    checked = 0
    for obj in saved_objects():
        if obj["type"] not in ("search", "visualization"):
            continue
        caps = field_caps(es, index_of(obj, config.prefix))
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        for field in LUCENE_FIELD.findall(source["query"]["query"]):
            assert caps[field]["searchable"], (obj["id"], field)
        for field in obj["attributes"].get("columns", []):
            assert field in caps, (obj["id"], field)
        for field, _ in obj["attributes"].get("sort", []):
            assert caps[field]["aggregatable"], (obj["id"], field)
        for agg in json.loads(obj["attributes"].get("visState", '{"aggs": []}'))["aggs"]:
            field = agg["params"].get("field")
            if field:
                assert caps[field]["aggregatable"], (obj["id"], field)
                if agg["type"] == "date_histogram":
                    assert caps[field]["type"] == "date"
                checked += 1
    assert checked >= 6


def test_dashboard_references_resolve():
    objects = {(o["type"], o["id"]): o for o in saved_objects()}
    dashboard = objects[("dashboard", "chatforensics-overview")]
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    assert len(panels) == 6
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert (ref["type"], ref["id"]) in objects and ref["type"] == panel["type"]
    for obj in objects.values():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in objects, (obj["id"], ref)


def test_there_is_a_saved_search_for_every_category():
    queries = {json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
               for o in searches()}
    assert {f"detection.categories:{c}" for c in CATEGORIES} <= queries


def expected_for_search(obj: dict, docs: dict) -> int:
    """What each saved search must find in the sample, computed from the JSONL output."""
    query = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
    if obj["references"][0]["id"] == "chatforensics-cases":
        assert query == "*"
        return len(docs["cases"])
    hits = docs["hits"]
    if query.startswith("detection.categories:"):
        return sum(query.split(":")[1] in h["detection"]["categories"] for h in hits)
    table = {
        "detection.severity:high": lambda h: h["detection"]["severity"] == "high",
        "message.language:(zh OR mixed)": lambda h: h["message"]["language"] in ("zh", "mixed"),
        'author.name:"Priya"': lambda h: h["author"]["name"] == "Priya",
    }
    return sum(map(table[query], hits))


def test_saved_search_queries_return_the_expected_hits(sample):
    config, es, docs = sample
    nonzero = 0
    for obj in searches():
        query = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]
        assert query["language"] == "lucene"
        expected = expected_for_search(obj, docs)
        assert count(es, index_of(obj, config.prefix), lucene(query["query"])) == expected, obj["id"]
        nonzero += expected > 0
    assert nonzero >= 8  # severity, Chinese, participant, cases and most categories have sample data


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


def test_readme_shows_every_investigator_query():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for query in QUERIES:
        assert query["lucene"] in readme and query["kql"] in readme, query["id"]
        assert json.dumps(query["es"], ensure_ascii=False) in readme, query["id"]


def test_saved_objects_file_is_one_object_per_line():
    lines = Path(ROOT / "kibana" / "saved_objects.ndjson").read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    assert {o["type"] for o in objects} == {"index-pattern", "search", "visualization", "dashboard"}
