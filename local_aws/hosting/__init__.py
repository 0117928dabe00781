"""SageMaker hosting for local AWS: real endpoints served by model-server processes.

Part 2 of local AWS. ``docs/local_aws_hosting.md`` describes the design and what is honoured.
"""
