"""Who may call local AWS: the host and origin policy, SigV4 authentication against the keys local AWS
knows, and the refusals in each service's own error shape. `Gate` applies them before any request
reaches moto or the compute plane (docs/local_aws.md, "Security")."""
