"""The front door's logic as plain functions; `handler.py` wires them to Lambda and Powertools."""
