"""A SageMaker job's or model's role must exist and trust sagemaker.amazonaws.com, as SageMaker checks when the
resource is created; otherwise nothing is made and the error says so in SageMaker's words."""

from local_aws.access.assume_role_api import assumable_by
from local_aws.exceptions import ValidationException

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


def require_assumable(ctx, role_arn: str) -> None:
    if not assumable_by(role_arn, SAGEMAKER_PRINCIPAL, ctx.account_id):
        raise ValidationException(f"Could not assume role {role_arn}. Please ensure that the role exists and allows "
                                  f"principal '{SAGEMAKER_PRINCIPAL}' to assume the role.")
