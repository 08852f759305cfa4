"""The floor board: a wallboard for the floor and a check-in view for team leads, over HTTP."""
