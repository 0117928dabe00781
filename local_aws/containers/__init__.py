"""What the stand-ins for SageMaker's containers share, training and hosting alike: model and data
files in S3, output shipped to CloudWatch Logs, a source dir's requirements checked against this
environment."""
