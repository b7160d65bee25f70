"""Run reports (issue 16): a run's final answer with its details (task, run, times,
status, model, usage, estimated cost), rendered as Markdown, HTML, JSON or PDF by the
runner and stored in S3 beside the transcript.

Which runs get one: a run of a task with `report` that ran to an end, SUCCEEDED, FAILED
or TIMED_OUT (a failed run's report carries its error and whatever output it gave). A
run waiting for input gets its report when it ends; a cancelled, skipped or missed run
never ran to an end and gets none.

Layers: `formats` (media types, keys, file names) is all the API imports; the
rendering modules load their libraries (markdown-it-py, nh3, fpdf2) only in the
runner, and only for the format a report asks for. Nothing here is imported by the
package itself, so `import agentcron.reports.formats` costs nothing more."""
