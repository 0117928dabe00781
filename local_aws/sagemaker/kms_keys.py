"""The KMS keys a SageMaker request names must exist in local AWS's KMS and be enabled, as SageMaker checks
them; a request naming a key that does not is refused before anything is made."""

from botocore.exceptions import ClientError

from local_aws.exceptions import ValidationException

# Where CreateTrainingJob (and a tuning job's trials) and CreateEndpointConfig name keys.
TRAINING_KEY_MEMBERS = (("OutputDataConfig", "KmsKeyId"), ("ResourceConfig", "VolumeKmsKeyId"))
ENDPOINT_CONFIG_KEY_MEMBERS = (("KmsKeyId",),)


def require_keys(ctx, request: dict, members: tuple[tuple[str, ...], ...]) -> None:
    """ValidationException naming the member and the key for a key that is missing or not enabled."""
    kms = ctx.client("kms")
    for path in members:
        key_id = _at(request, path)
        if not key_id:
            continue
        try:
            state = kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotFoundException":
                raise
            raise ValidationException(f"{'.'.join(path)}: the KMS key {key_id} does not exist in this account and "
                                      "region.")
        if state != "Enabled":
            raise ValidationException(f"{'.'.join(path)}: the KMS key {key_id} is {state}, not Enabled.")


def _at(request: dict, path: tuple[str, ...]):
    for member in path:
        if not isinstance(request, dict):
            return None
        request = request.get(member)
    return request
