"""Contract tier: what ties the files together. Every event in events/ and every published sample
in tests/fixtures parses; the ASL, the template, samplefile.env, the account templates and the
lock files agree with each other; the decision core imports no boto3; the blueprints render
(`make contract`)."""
