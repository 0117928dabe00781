"""An embedded AWS endpoint: moto for the control plane, real local compute for SageMaker."""

from local_aws.server import LocalAWS

__all__ = ["LocalAWS"]
