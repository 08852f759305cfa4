"""Asterisk queues (app_queue) as a dialer adapter: what Asterisk writes, as contract events.

Pure translation: `core` (members and callers to events, shared by both views), `queue_log`
(a line at a time) and `ami` (an AMI event at a time, and QueueStatus snapshots), with `state`
(what they remember, saved in checkpoints) and `config` ([sources.asterisk]). Thin shells:
`follow` (a queue_log file, whole or followed), `checkpoint`, `capture` (a recorded AMI
session), `ami_client` (the live AMI), `sources` (the loops), `output` (to a sink), `summary`.
"""
