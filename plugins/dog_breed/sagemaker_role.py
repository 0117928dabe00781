"""The execution role SageMaker assumes for the pipeline's jobs and models, least privilege: it trusts
sagemaker.amazonaws.com only and may read and write the pipeline's bucket, write its jobs' and endpoints'
logs and publish their metrics, nothing else (no managed `*FullAccess` policy). On AWS an administrator
creates it once (`ensure` does it with their credentials); on the local profile `make run` and `make up`
create it in local AWS, which, like SageMaker, refuses a job or model whose role it cannot assume.
"""

from dog_breed.iam_roles import ensure_role

POLICY_NAME = "dog-breed-pipeline"


def trust_policy() -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def role_policy(bucket: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                       "logs:DescribeLogStreams"],
         "Resource": ["arn:aws:logs:*:*:log-group:/aws/sagemaker/*"]},
        {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]}}},
    ]}


def ensure(iam, role_arn: str, bucket: str) -> None:
    """Create the role `role_arn` names, or bring its trust and inline policy to what the pipeline needs."""
    ensure_role(iam, role_arn.rsplit("/", 1)[-1], trust_policy(), POLICY_NAME, role_policy(bucket),
                "SageMaker execution role of the dog-breed pipeline (least privilege)")
