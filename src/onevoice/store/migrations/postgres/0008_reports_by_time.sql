-- Measuring (issue 7): the reports read the decision log and its responses by period.
CREATE INDEX decisions_by_at ON decisions (at);
CREATE INDEX responses_by_at ON responses (at);
