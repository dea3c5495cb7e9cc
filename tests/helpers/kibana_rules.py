"""Kibana 9's import rules, as far as they can be checked without a Kibana: `problems(objects)` lists every
broken rule (empty when the objects would import and find their fields). Each rule names its source in
elastic/kibana; the tables below were read from those files.

1. Version stamps. `typeMigrationVersion` above the newest version a type knows is refused ("belongs to a
   more recent version of Kibana"): DocumentUpgradePipeline.assertCompatibility in
   src/core/packages/saved-objects/migration-server-internal/src/document_migrator/pipelines/upgrade_pipeline.ts;
   model version N is the virtual version 10.N.0 (document_migrator/model_version.ts,
   modelVersionToVirtualVersion). A `coreMigrationVersion` above the running Kibana is refused too
   (assertValidCoreVersion, document_migrator/pipelines/utils.ts); we require <= 9.0.0, the oldest Kibana 9.
   Newest versions per type (NEWEST_KNOWN):
     index-pattern 8.0.0: src/platform/plugins/shared/data_views/server/saved_objects/data_views.ts
       (convertToMultiNamespaceTypeVersion 8.0.0, no modelVersions) + index_pattern_migrations.ts (<= 7.11.0);
     search 10.15.0: src/platform/plugins/shared/saved_search/server/saved_objects/search.ts and schema.ts
       (DISCOVER_SESSION_MODEL_VERSIONS up to 15);
     lens 10.1.0: x-pack/platform/plugins/shared/lens/server/saved_objects.ts (modelVersions {1}; legacy
       migrations up to 8.9.0 in server/migrations/saved_object_migrations.ts);
     dashboard 10.4.0: src/platform/plugins/shared/dashboard/server/dashboard_saved_object/dashboard_saved_object.ts
       (modelVersions 1-4).
2. Attributes. Import creates objects through bulkCreate, which validates each migrated document against the
   type's schema for its version (SavedObjectsTypeValidator in
   src/core/packages/saved-objects/base-server-internal/src/validation/validator.ts: the newest schema at or
   below the stamp) and the base document shape (validation/base_schema.ts, TOP_LEVEL here). Schemas
   (SCHEMAS): dashboard schema/v1..v4 (v1.ts forbids unknown keys, later ones drop them silently); search
   schema.ts SCHEMA_SEARCH_BASE and model versions 1-5; lens content_management/v0/schema.ts
   (lensItemAttributesSchemaV0, the create schema of lens model version 1); index-pattern has no server
   schema, so its attributes are held to DataViewAttributes (src/platform/plugins/shared/data_views/common/types.ts).
   A stamp above the versions encoded here fails: its schema was not read.
3. References. Every reference must resolve in the file (or Kibana reports missing_references:
   src/core/packages/saved-objects/import-export-server-internal/src/import/lib/validate_references.ts); a
   dashboard panel's panelRefName is looked up as "<panelIndex>:<panelRefName>" and a control's data view as
   "controlGroup_<control id>:..." (dashboard_saved_object/migrations/migrate_extract_panel_references/
   dashboard_container_references.ts; controls' data_control_references.ts); a Lens layer's data view as
   "indexpattern-datasource-layer-<layer id>" (lens server/migrations/saved_object_migrations.ts,
   extractReferences); a search's as its searchSourceJSON.indexRefName.
4. Grid. Panels lie inside the 48-column grid (DASHBOARD_GRID_COLUMN_COUNT in
   src/platform/plugins/shared/dashboard/common/constants.ts) and do not overlap.
5. Fields. Every field an object names exists in the index template its data view covers, with a type the use
   accepts: aggregations and option lists need doc values (not `text`), date histograms a date, ranges and
   sums a number.
6. KQL. Every KQL string parses (tests/helpers/kql.py, from kbn-es-query's grammar.peggy) and names mapped fields.
What it cannot check: how Lens renders its `state` (the server keeps it as `schema.any()`), or a live import.
"""

from __future__ import annotations

import fnmatch
import itertools
import json

from pipelines.kibana_build import AGGREGATABLE, NUMERIC, mapping_fields
from tests.helpers.kql import KqlError, fields, parse

OLDEST_KIBANA = "9.0.0"
NEWEST_KNOWN = {"index-pattern": "8.0.0", "search": "10.15.0", "lens": "10.1.0", "dashboard": "10.4.0"}
TOP_LEVEL = {"id", "type", "references", "namespace", "namespaces", "migrationVersion", "coreMigrationVersion",
             "typeMigrationVersion", "updated_at", "updated_by", "created_at", "created_by", "version", "originId",
             "managed", "accessControl", "attributes"}
GRID_COLUMNS = 48

STR, BOOL, NUM, LIST, ANY = str, bool, (int, float), list, object
REFRESH = {"pause": BOOL, "value": NUM, "display": STR, "section": NUM}
CONTROL_GROUP_V1 = {"panelsJSON": STR, "controlStyle": STR, "chainingSystem": STR, "ignoreParentSettingsJSON": STR}
DASHBOARD_V1 = {"title": STR, "description": STR, "kibanaSavedObjectMeta": {"searchSourceJSON": STR},
                "timeRestore": BOOL, "timeFrom": STR, "timeTo": STR, "refreshInterval": REFRESH,
                "controlGroupInput": CONTROL_GROUP_V1, "panelsJSON": STR, "optionsJSON": STR, "hits": NUM,
                "version": NUM}
DASHBOARD_V2 = {**DASHBOARD_V1, "controlGroupInput": {**CONTROL_GROUP_V1, "showApplySelections": BOOL}}
DASHBOARD_V3 = {**DASHBOARD_V2, "sections": LIST}
DASHBOARD_V4 = {**DASHBOARD_V3, "projectRouting": STR}
SEARCH_BASE = {"title": STR, "description": STR, "columns": LIST, "sort": LIST, "grid": {"columns": ANY},
               "rowHeight": NUM, "rowsPerPage": NUM, "hideChart": BOOL, "breakdownField": STR,
               "kibanaSavedObjectMeta": {"searchSourceJSON": STR}, "isTextBasedQuery": BOOL,
               "usesAdHocDataView": BOOL, "timeRestore": BOOL, "timeRange": {"from": STR, "to": STR},
               "refreshInterval": {"pause": BOOL, "value": NUM}, "viewMode": STR, "hideAggregatedPreview": BOOL,
               "hits": NUM, "version": NUM}
SEARCH_1 = {**SEARCH_BASE, "sampleSize": NUM}
SEARCH_2 = {**SEARCH_1, "headerRowHeight": NUM}
SEARCH_3 = {**SEARCH_2, "visContext": ANY}
SEARCH_5 = {**SEARCH_3, "density": STR}  # model version 4 only widened viewMode's values
LENS_V0 = {"title": STR, "description": (str, type(None)), "visualizationType": STR, "state": ANY,
           "uiStateJSON": STR, "visState": STR, "savedSearchRefName": STR}
DATA_VIEW = {"fields": STR, "title": STR, "type": STR, "typeMeta": STR, "timeFieldName": STR, "sourceFilters": STR,
             "fieldFormatMap": STR, "fieldAttrs": STR, "runtimeFieldMap": STR, "allowNoIndex": BOOL, "name": STR,
             "allowHidden": BOOL}
SCHEMAS = {  # type -> {first version the schema applies to: schema}
    "dashboard": {"10.1.0": DASHBOARD_V1, "10.2.0": DASHBOARD_V2, "10.3.0": DASHBOARD_V3, "10.4.0": DASHBOARD_V4},
    "search": {"8.8.0": SEARCH_BASE, "10.1.0": SEARCH_1, "10.2.0": SEARCH_2, "10.3.0": SEARCH_3,
               "10.4.0": SEARCH_3, "10.5.0": SEARCH_5},
    "lens": {"0.0.0": LENS_V0},
    "index-pattern": {"0.0.0": DATA_VIEW},
}
HIGHEST_ENCODED = {"dashboard": "10.4.0", "search": "10.5.0", "lens": "10.1.0", "index-pattern": "8.0.0"}
REQUIRED = {"dashboard": {"title"}, "search": {"title", "kibanaSavedObjectMeta"}, "lens": {"title"},
            "index-pattern": {"title"}}
REQUIRED_INSIDE = {"refreshInterval": {"pause", "value"}, "timeRange": {"from", "to"},
                   "kibanaSavedObjectMeta": set()}
JSON_ATTRIBUTES = ("panelsJSON", "optionsJSON", "fieldAttrs", "fieldFormatMap", "fields", "runtimeFieldMap",
                   "sourceFilters", "searchSourceJSON", "ignoreParentSettingsJSON")
# What each Lens operation needs of its field (lens public/datasources/form_based/operations/definitions).
LENS_NEEDS = {"terms": "aggregatable", "unique_count": "aggregatable", "last_value": "aggregatable",
              "date_histogram": "date", "min": "number or date", "max": "number or date", "average": "number",
              "sum": "number", "median": "number", "percentile": "number", "standard_deviation": "number",
              "range": "number", "count": "exists"}


def semver(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in text.split("."))
    return major, minor, patch


def views(objects: list[dict]) -> dict[str, str]:
    """Data view id -> the index kind (hits, cases) its title covers."""
    return {o["id"]: o["attributes"]["title"].rsplit("-", 1)[-1] for o in objects if o["type"] == "index-pattern"}


def field_problem(kind: str, name: str, need: str, where: str) -> str | None:
    mapped = mapping_fields(kind)
    if name == "___records___" and need == "exists":
        return None
    if name not in mapped:
        return f"{where}: field {name!r} is not in the {kind} mapping"
    type_ = mapped[name]
    ok = {"exists": True, "aggregatable": type_ in AGGREGATABLE, "date": type_ in ("date", "date_nanos"),
          "number": type_ in NUMERIC, "number or date": type_ in NUMERIC or type_ in ("date", "date_nanos")}[need]
    return None if ok else f"{where}: field {name!r} is {type_}, not {need}"


def kql_problems(query: str, kind: str | None, where: str) -> list[str]:
    try:
        tree = parse(query)
    except KqlError as exc:
        return [f"{where}: {exc}"]
    if kind is None:
        return []
    out = []
    mapped = mapping_fields(kind)
    for name, wildcard in fields(tree):
        if wildcard and not fnmatch.filter(mapped, name):
            out.append(f"{where}: KQL field pattern {name!r} matches no {kind} field")
        elif not wildcard and name not in mapped:
            out.append(f"{where}: KQL field {name!r} is not in the {kind} mapping")
    return out


def check_versions(obj: dict) -> list[str]:
    where = f"{obj['type']} {obj['id']}"
    out = []
    version = obj.get("typeMigrationVersion")
    newest = NEWEST_KNOWN.get(obj["type"])
    if newest is None:
        return [f"{where}: type {obj['type']!r} is not one this file knows"]
    try:
        if version is not None and semver(version) > semver(newest):
            out.append(f"{where}: typeMigrationVersion {version} is newer than {obj['type']} knows ({newest})")
        elif version is not None and semver(version) > semver(HIGHEST_ENCODED[obj["type"]]):
            out.append(f"{where}: typeMigrationVersion {version}: no schema encoded here for it")
        core = obj.get("coreMigrationVersion")
        if core is not None and semver(core) > semver(OLDEST_KIBANA):
            out.append(f"{where}: coreMigrationVersion {core} is newer than Kibana {OLDEST_KIBANA}")
    except ValueError:
        out.append(f"{where}: a version stamp is not semver")
    return out


def schema_at(type_: str, version: str | None) -> dict:
    """The newest schema at or below the stamp, as validator.ts picks it (no stamp: the newest)."""
    table = SCHEMAS[type_]
    if version is None:
        return table[max(table, key=semver)]
    usable = [v for v in table if semver(v) <= semver(version)]
    return table[max(usable, key=semver)] if usable else {}


def check_shape(value, schema, path: str, where: str) -> list[str]:
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where}: {path} should be an object"]
        out = [f"{where}: unknown attribute {path}.{key}" for key in value if key not in schema]
        for key in REQUIRED_INSIDE.get(path.rsplit(".", 1)[-1], set()):
            if key not in value:
                out.append(f"{where}: {path}.{key} is required")
        for key, sub in value.items():
            if key in schema:
                out += check_shape(sub, schema[key], f"{path}.{key}", where)
        return out
    if schema is not ANY and not isinstance(value, schema) or (schema is NUM and isinstance(value, bool)):
        return [f"{where}: {path} has the wrong type ({type(value).__name__})"]
    if path.rsplit(".", 1)[-1] in JSON_ATTRIBUTES:
        try:
            json.loads(value)
        except ValueError:
            return [f"{where}: {path} is not JSON"]
    return []


def check_attributes(obj: dict) -> list[str]:
    where = f"{obj['type']} {obj['id']}"
    if obj["type"] not in SCHEMAS:
        return []
    out = [f"{where}: unknown top-level key {key!r}" for key in obj if key not in TOP_LEVEL]
    attributes = obj.get("attributes", {})
    out += [f"{where}: attribute {key!r} is required" for key in REQUIRED[obj["type"]] if key not in attributes]
    out += check_shape(attributes, schema_at(obj["type"], obj.get("typeMigrationVersion")), "attributes", where)
    return out


def check_references(obj: dict, known: set[tuple[str, str]]) -> list[str]:
    where = f"{obj['type']} {obj['id']}"
    refs = obj.get("references", [])
    names = [r["name"] for r in refs]
    out = [f"{where}: reference name {n!r} is used twice" for n in set(names) if names.count(n) > 1]
    out += [f"{where}: reference {r['name']} -> {r['type']} {r['id']} is not in the file"
            for r in refs if (r["type"], r["id"]) not in known]
    by_name = {r["name"]: r for r in refs}
    attributes = obj["attributes"]
    if obj["type"] == "dashboard":
        for panel in json.loads(attributes.get("panelsJSON", "[]")):
            name = f"{panel['panelIndex']}:{panel.get('panelRefName')}"
            if panel.get("panelRefName") and (name not in by_name or by_name[name]["type"] != panel["type"]):
                out.append(f"{where}: panel {panel['panelIndex']} has no {panel['type']} reference {name!r}")
        controls = json.loads(attributes.get("controlGroupInput", {}).get("panelsJSON", "{}"))
        for cid in controls:
            if not any(n.startswith(f"controlGroup_{cid}:") for n in by_name):
                out.append(f"{where}: control {cid} has no data view reference")
    if obj["type"] == "lens":
        for layer in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
            if f"indexpattern-datasource-layer-{layer}" not in by_name:
                out.append(f"{where}: Lens layer {layer} has no data view reference")
    if "kibanaSavedObjectMeta" in attributes:
        source = json.loads(attributes["kibanaSavedObjectMeta"].get("searchSourceJSON") or "{}")
        if "indexRefName" in source and source["indexRefName"] not in by_name:
            out.append(f"{where}: searchSourceJSON.indexRefName {source['indexRefName']!r} has no reference")
    return out


def check_grid(obj: dict) -> list[str]:
    where = f"dashboard {obj['id']}"
    panels = json.loads(obj["attributes"].get("panelsJSON", "[]"))
    out = []
    for panel in panels:
        g = panel["gridData"]
        if g["w"] <= 0 or g["h"] <= 0 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > GRID_COLUMNS:
            out.append(f"{where}: panel {panel['panelIndex']} lies outside the {GRID_COLUMNS}-column grid")
        if g["i"] != panel["panelIndex"]:
            out.append(f"{where}: panel {panel['panelIndex']} has gridData.i {g['i']!r}")
    for a, b in itertools.combinations(panels, 2):
        ga, gb = a["gridData"], b["gridData"]
        if (ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"]
                and ga["y"] < gb["y"] + gb["h"] and gb["y"] < ga["y"] + ga["h"]):
            out.append(f"{where}: panels {a['panelIndex']} and {b['panelIndex']} overlap")
    return out


def ref_kind(obj: dict, name_start: str, dv_kinds: dict[str, str]) -> str | None:
    for ref in obj.get("references", []):
        if ref["name"].startswith(name_start) and ref["id"] in dv_kinds:
            return dv_kinds[ref["id"]]
    return None


def field_uses(obj: dict, dv_kinds: dict[str, str]) -> tuple[list[tuple[str | None, str, str]],
                                                             list[tuple[str | None, str]]]:
    """What an object asks of fields: [(index kind, field, need)], and its KQL strings [(index kind, query)].
    Names in <angle brackets> are structural faults (an accessor naming no column), reported as fields."""
    attributes = obj["attributes"]
    uses: list[tuple[str | None, str, str]] = []  # (index kind, field, need)
    kql: list[tuple[str | None, str]] = []
    if obj["type"] == "index-pattern":
        kind = dv_kinds[obj["id"]]
        uses.append((kind, attributes["timeFieldName"], "date"))
        for key in ("fieldAttrs", "fieldFormatMap"):
            uses += [(kind, name, "exists") for name in json.loads(attributes.get(key, "{}"))]
    if obj["type"] == "search":
        kind = ref_kind(obj, "kibanaSavedObjectMeta", dv_kinds)
        uses += [(kind, name, "exists") for name in attributes.get("columns", [])]
        uses += [(kind, name, "aggregatable") for name, _ in attributes.get("sort", [])]
    if obj["type"] == "lens":
        state = attributes["state"]
        for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
            kind = ref_kind(obj, f"indexpattern-datasource-layer-{layer_id}", dv_kinds)
            for column_id, column in layer["columns"].items():
                need = LENS_NEEDS.get(column["operationType"])
                if need is None:
                    uses.append((kind, f"<operation {column['operationType']}>", "exists"))
                    continue
                uses.append((kind, column["sourceField"], need))
                if column["operationType"] == "last_value":
                    uses.append((kind, column["params"]["sortField"], "date"))
                if column.get("filter", {}).get("language") == "kuery":
                    kql.append((kind, column["filter"]["query"]))
                order = column.get("params", {}).get("orderBy", {})
                if order.get("type") == "column" and order["columnId"] not in layer["columns"]:
                    uses.append((kind, f"<order by missing column {order['columnId']}>", "exists"))
                if column_id not in layer["columnOrder"]:
                    uses.append((kind, f"<column {column_id} missing from columnOrder>", "exists"))
            visualization = state["visualization"]
            named = [a for lyr in visualization.get("layers", [visualization]) for a in
                     [lyr.get("xAccessor"), lyr.get("splitAccessor"), lyr.get("metricAccessor"),
                      *lyr.get("accessors", []), *(c["columnId"] for c in lyr.get("columns", []))] if a]
            uses += [(kind, f"<accessor {a} names no column>", "exists") for a in named if a not in layer["columns"]]
        if state.get("query", {}).get("language") == "kuery":
            kql.append((ref_kind(obj, "indexpattern-datasource-layer-", dv_kinds), state["query"]["query"]))
    if obj["type"] == "dashboard":
        controls = json.loads(attributes.get("controlGroupInput", {}).get("panelsJSON", "{}"))
        for cid, control in controls.items():
            kind = ref_kind(obj, f"controlGroup_{cid}:", dv_kinds)
            need = "number" if control["type"] == "rangeSliderControl" else "aggregatable"
            uses.append((kind, control["explicitInput"]["fieldName"], need))
    if "kibanaSavedObjectMeta" in attributes:
        source = json.loads(attributes["kibanaSavedObjectMeta"].get("searchSourceJSON") or "{}")
        query = source.get("query", {})
        if query.get("language") == "kuery":
            kql.append((ref_kind(obj, "kibanaSavedObjectMeta", dv_kinds), query.get("query", "")))
    return uses, kql


def check_fields(obj: dict, dv_kinds: dict[str, str]) -> list[str]:
    where = f"{obj['type']} {obj['id']}"
    uses, kql = field_uses(obj, dv_kinds)
    out = []
    for kind, name, need in uses:
        if kind is None:
            out.append(f"{where}: {name} is used without a data view")
        elif (problem := field_problem(kind, name, need, where)) is not None:
            out.append(problem)
    for kind, query in kql:
        out += kql_problems(query, kind, where)
    return out


def problems(objects: list[dict]) -> list[str]:
    """Every rule above the objects break, one line each."""
    known = {(o["type"], o["id"]) for o in objects}
    dv_kinds = views(objects)
    out = [f"{t} {i} is in the file twice" for t, i in known if sum(
        (o["type"], o["id"]) == (t, i) for o in objects) > 1]
    for obj in objects:
        out += check_versions(obj)
        out += check_attributes(obj)
        out += check_references(obj, known)
        if obj["type"] == "dashboard":
            out += check_grid(obj)
        out += check_fields(obj, dv_kinds)
    return out


def query_problems(queries: list[dict]) -> list[str]:
    """The KQL of kibana/queries.yaml: parses, and names fields of the index it is for."""
    return [p for q in queries for p in kql_problems(q["kql"], q["index"], f"queries.yaml {q['id']}")]
