"""SageMaker's control plane as local_aws implements it: state, wire shapes and actions."""
