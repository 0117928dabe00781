"""Lambda in local AWS: functions that really run, in sandboxes, through AWS's runtime interface client."""
