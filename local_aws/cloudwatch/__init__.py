"""CloudWatch: moto keeps metrics and alarms; local AWS evaluates the alarms (`alarm_rules`, `alarm_evaluator`)."""
