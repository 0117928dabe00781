"""The compute plane: what really runs SageMaker jobs as local processes."""
