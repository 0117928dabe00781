"""An embedded AWS endpoint: moto for the control plane, real local compute for SageMaker.

`from local_aws import LocalAWS` imports the server (and moto) only when asked, so that a module of
the package that needs nothing but the standard library (local_aws.sandbox) imports without them.
"""

__all__ = ["LocalAWS"]


def __getattr__(name: str):
    if name == "LocalAWS":
        from local_aws.server import LocalAWS

        return LocalAWS
    raise AttributeError(f"module 'local_aws' has no attribute {name!r}")
