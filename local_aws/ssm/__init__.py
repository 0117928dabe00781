"""SSM: Run Command on local EC2 instances (`run_command`, `run_command_api`); the rest of SSM is moto's."""
