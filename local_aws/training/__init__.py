"""What really runs SageMaker training and tuning jobs, as local processes: the execution of what
local_aws.sagemaker records (it moves a job along; the job's state and wire shapes stay there)."""
