"""Alerts: the records `pager trigger -` reads, parsed and normalized.

Pure parsing: no database and no config. A service name or a PagerDuty
routing key is carried as given and resolved against the services later.

- `record`: the `Alert` record, the limits, and the field checks every format
  shares;
- `json_strict`: JSON text → values, strictly (what standard JSON can carry
  back), for stdin and for any other JSON the user hands us;
- `generic`, `pagerduty`, `pagerduty_v1`, `alertmanager`: one module per format, each turning
  one parsed object into its records;
- `documents`: one parsed JSON document → its records, in one ordered table
  of the formats;
- `stream`: the framing of an input stream (stdin) into documents and text
  lines, with `multiline` gathering a document over several lines.

Nothing is imported here, so importing one module stays cheap.
"""
