"""What the Lambda functions share besides the decision core: configuration, event models and the
adapters that talk to AWS (the only code that uses boto3).
"""
