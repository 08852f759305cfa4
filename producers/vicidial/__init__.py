"""VICIdial: its own MySQL (MariaDB) tables, read live, translated into contract events.

VICIdial keeps a floor in log tables that it inserts into and then updates in place. What a
row means at each step, as VICIdial writes it and as this adapter reads it (whole seconds):

`vicidial_user_log` (inserted only): `LOGIN` and `LOGOUT` rows (`event_epoch`, `user`,
`user_group`, `campaign_id`). A LOGOUT is `agent.state` logged_out; a login shows in the
agent's first `vicidial_agent_log` row.

`vicidial_agent_log`, one row per cycle pause -> wait -> talk -> dispo:
  INSERT at login (`sub_status` LOGIN) and after each disposition: `pause_epoch` = `wait_epoch`
         = now, `pause_sec` = 0. A pause from waiting (no call) also closes the row (its
         `wait_sec`) and inserts a new one.
  UPDATE `sub_status` = the pause code when the person pauses with a code.
  UPDATE `pause_sec` = now - `pause_epoch`, `wait_epoch` = now when the person becomes ready.
  UPDATE `wait_sec`, `talk_epoch` = now, `uniqueid`, `lead_id`, `comments` (AUTO, MANUAL or
         INBOUND) when a call reaches the person.
  UPDATE `talk_sec`, `dispo_epoch` = now when the call ends and wrap-up (the dispo screen)
         starts; UPDATE `dispo_sec`, `status` = the disposition when it is chosen.
Its events, each once the row shows it for sure:
  paused at `pause_epoch` (reason `sub_status`, or [sources.vicidial] no_reason), when the row
         has a pause code other than LOGIN, or its pause lasted (`pause_sec` > 0). A fresh row
         without a code is a person who became ready at once or has not chosen a code yet: the
         row tells which only later.
  ready at `wait_epoch`, when the wait began after the pause (`wait_epoch` > `pause_epoch`), or
         at once (`pause_sec` = 0) and the row went on (a call, a wait that lasted, a newer row
         of the person), or when the row has had no code for `ready_after_s` of the table's
         time (the newest epoch in the rows read with it).
  on_call at `talk_epoch` (call_id: `uniqueid`), and for a dialer's call (not INBOUND)
         `call.connected` at the same time, naming the person and their team.
  wrap_up at `dispo_epoch`; `agent.disposition` (`status`) at `dispo_epoch` + `dispo_sec`.

`vicidial_log` (the dialer's calls; key `uniqueid`): inserted when the call is answered
(`start_epoch` = the answer, `status` SENT, no `end_epoch`) and updated when it ends
(`end_epoch`, `length_in_sec`, `status`, `user`: the person, or VDAD when nobody took it), or
inserted whole when nobody answered (`start_epoch` = the dial, `end_epoch` = the give-up).
  call.dialed at the dial (`vicidial_carrier_log.call_date` of the same `uniqueid` when that row
         is there, else `start_epoch`); call.answered (human, or machine for the machine
         statuses) at `start_epoch`; call.unanswered (outcome by status) at `end_epoch`;
         call.dropped at `end_epoch` for the drop statuses; call.ended at `end_epoch`.

`vicidial_closer_log` (in-group calls, an inbound queue each; key `closecallid`): inserted when
the caller enters the in-group (`start_epoch`, status QUEUE), updated when someone answers
(`user`, `queue_seconds`, status INCALL) and when the call ends (`end_epoch`, `status`:
the disposition, or a drop status when the caller left or the queue gave up, `term_reason`).
  call.queued at `start_epoch`; call.connected at `start_epoch` + `queue_seconds` (hundredths
         of a second); call.abandoned at `end_epoch` for the drop statuses; else call.ended.

Every event id is `{source}:{table}:{row id}:{phase}`, so reading a row again gives duplicates
that the engine ignores. Statuses and pause codes go out as VICIdial has them; [codes] aliases
of the floor's configuration map them (NI = "not_interested", NAMAZ = "prayer").
"""
