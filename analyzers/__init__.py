"""Detection logic without Beam: rules, prefilter, matchers, recognizers and scoring."""
