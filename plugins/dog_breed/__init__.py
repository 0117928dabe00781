"""The dog-breed pipeline's building blocks: typed configuration, resource naming, SageMaker request
builders, and the thin operators the `dog_breed_pipeline` and `dog_breed_teardown` DAGs are made of.

Airflow puts its plugins folder on `sys.path`, so DAG files import this package as `dog_breed`.
"""
