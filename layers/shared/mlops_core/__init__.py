"""The decision core of the control plane.

Plain data in, decision values out: triage policy, promotion gates, shadow verdicts and Spot
recovery rules live here and nowhere else. Nothing in this package talks to AWS (a contract test
fails if it imports boto3 or botocore), so every rule is unit-tested without an emulator and the
CLI runs the very same code as the Lambda functions.
"""
