"""Every committed Slack export is written by its generator through the one Slack-export writer
(builders/slack.py), and regenerating it gives the committed bytes: a change to a generator or to the
writer that would change a fixture shows here, not as a silent diff after the next regeneration."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.slack import ZIP_DATE, JsonStyle, SlackExport, by_day
from tests.conftest import EXAMPLES, FIXTURES


def committed_slack_exports() -> dict[str, tuple[Path, Path]]:
    """{name: (generator, export folder)} for every Slack export in examples/ and tests/fixtures/."""
    folders = [EXAMPLES / "slack-demo"] + sorted(p.parent for p in FIXTURES.rglob("users.json")
                                                 if (p.parent / "channels.json").is_file())
    return {("demo" if f.parent == EXAMPLES else f.name): (f.parent / "_make.py" if f.parent == EXAMPLES
                                                          else f / "_make.py", f) for f in folders}


EXPORTS = committed_slack_exports()


def test_the_committed_slack_exports_are_the_ones_expected():
    # a new committed export joins the byte check below by being found; this pins that it is found
    assert set(EXPORTS) == {"demo", "devset", "devset2", "devset3", "devset4", "holdout", "blind2"}
    assert all(generator.is_file() for generator, _ in EXPORTS.values())


def generated_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_regenerating_a_committed_export_gives_its_bytes(name, tmp_path):
    generator, committed = EXPORTS[name]
    out = tmp_path / name
    # run from elsewhere, as a user would: the generator finds builders/ itself
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, str(generator), "--out", str(out)], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    fresh = generated_files(out)
    data = {path for path in generated_files(committed) if path.endswith((".json", ".jsonl"))}
    assert data <= set(fresh), f"{name}: committed but no longer generated: {sorted(data - set(fresh))[:5]}"
    changed = [path for path, content in fresh.items() if (committed / path).read_bytes() != content]
    assert not changed, f"{name}: regenerated files differ from the committed ones: {changed[:5]}"


# --------------------------------------------------------------------------- the writer itself

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=5), indent=st.sampled_from([None, 1, 2, 4]),
       ensure_ascii=st.booleans(), newline=st.booleans())
def test_a_streamed_day_file_is_json_dumps_of_the_list(items, indent, ensure_ascii, newline):
    style = JsonStyle(indent=indent, ensure_ascii=ensure_ascii, newline=newline)
    streamed = io.StringIO()
    style.write_list(streamed, iter(items))
    assert streamed.getvalue() == style.dumps(items)
    assert json.loads(streamed.getvalue()) == items


def test_messages_go_to_the_day_file_of_their_utc_day_in_the_order_given():
    late, early, next_day = ({"ts": ts} for ts in ("1709683199.999999", "1709596800.000001", "1709683200.000000"))
    assert by_day([late, next_day, early]) == {"2024-03-05": [late, early], "2024-03-06": [next_day]}


def test_a_folder_export_has_slacks_layout(tmp_path):
    export = SlackExport(tmp_path / "x", JsonStyle(indent=1))
    export.users([{"id": "U1", "name": "李伟"}])
    export.channels([{"id": "C1", "name": "general"}, {"id": "C2", "name": "quiet"}])
    export.channel("general", [{"ts": "1709683200.000100", "text": "a"}, {"ts": "1709596800.000100", "text": "b"}])
    export.channel("quiet", [])
    files = generated_files(tmp_path / "x")
    assert sorted(files) == ["channels.json", "general/2024-03-05.json", "general/2024-03-06.json", "users.json"]
    assert (tmp_path / "x" / "quiet").is_dir()  # a channel with no messages still has its folder
    assert files["users.json"].decode() == '[\n {\n  "id": "U1",\n  "name": "李伟"\n }\n]\n'


def test_a_zip_export_is_stamped_with_one_fixed_time(tmp_path):
    target = tmp_path / "x.zip"
    with zipfile.ZipFile(target, "w") as zf:
        export = SlackExport(zf, JsonStyle(indent=None, newline=False))
        export.users([{"id": "U1"}])
        export.day("general", "2024-03-05", iter([{"ts": "1.000000"}]))
    with zipfile.ZipFile(target) as zf:
        infos = zf.infolist()
        assert [(i.filename, i.date_time, i.compress_type) for i in infos] == [
            ("users.json", ZIP_DATE, zipfile.ZIP_DEFLATED), ("general/2024-03-05.json", ZIP_DATE, zipfile.ZIP_DEFLATED)]
        assert zf.read("general/2024-03-05.json") == b'[{"ts": "1.000000"}]'
