"""What tests share, in one package (no tests here):

- slack: small Slack exports written by tests, through builders/slack.py;
- readers: read an export the way the pipeline does, zip one, scan one;
- reporting: a hostile Slack export and a scan of it, for the report tests;
- golden: digests of the demo's and the development sets' outputs (``python -m tests.helpers.golden --update``);
- kql, kibana_rules: Kibana's KQL grammar and import rules, to check kibana/ offline;
- fault_proxy: an HTTP proxy that fails Elasticsearch requests on cue, for the integration tests.
"""
