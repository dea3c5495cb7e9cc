"""Hit and case documents are finished in one place (pipelines/documents.py) from what detection found."""

from pipelines import documents


def test_a_case_gets_the_runs_fields_and_its_page_before_its_summary_is_rendered():
    found = {"case": {"id": "case-0123abcd"}, "title": "Scrubbing of 'GPT-4o' (priya), #ml, 5 Mar 2025"}
    seen = []

    def summarize(case, hits):
        seen.append((case["run"], case["ruleset"], case["report"], hits))
        return "one paragraph"

    doc = documents.case(found, [{"hit": {"id": "h1"}}], "run-x", "rules-1", summarize)
    assert doc == {**found, "run": {"id": "run-x"}, "ruleset": {"version": "rules-1"},
                   "report": {"path": "reports/cases/case-0123abcd.html"}, "summary": "one paragraph"}
    assert seen == [({"id": "run-x"}, {"version": "rules-1"}, {"path": "reports/cases/case-0123abcd.html"},
                     [{"hit": {"id": "h1"}}])]
    assert "run" not in found  # what detection found is left as it was


def test_a_hit_gets_the_run_id_and_keeps_its_masked_context():
    found = {"hit": {"id": "h1"}, "context": [{"id": "1", "text": "<EMAIL_ADDRESS> about lunch"}]}
    assert documents.hit(found, "run-x") == {**found, "run": {"id": "run-x"}}

