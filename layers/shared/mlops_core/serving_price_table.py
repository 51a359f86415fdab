"""List prices of SageMaker real-time inference instances: the data of
mlops_core.serving_prices. Written by tooling/prices/sagemaker_hosting.py; rerun it to
update (docs/serving.md, "The price table").
"""

# fmt: off
AS_OF = "2026-11-29"  # the day these prices were read from SOURCE
SOURCE = (
    "entered by hand on 2026-11-29 from the published Amazon SageMaker AI pricing "
    "page (aws.amazon.com/sagemaker/pricing, Real-Time Inference), without fetching "
    "it; us-west-2 copied from us-east-1"
)
NOTE = (
    "Checked on 2026-11-29 against what is reachable from the build machines: neither"
    " AWS's price list (offer files, Pricing API) nor the pricing page's price tables"
    " could be read, and third-party copies disagree on several entries, so no entry "
    "is verified; the digest says 'list price, unverified'. Replace with the "
    "generated table where AWS is reachable."
)

# region -> instance type -> (USD per instance-hour, on-demand, Linux; vCPUs;
#                             verified against AWS's price list)
HOURLY: dict[str, dict[str, tuple[float, int, bool]]] = {
    "us-east-1": {
        "ml.t2.medium": (0.056, 2, False),
        "ml.t2.large": (0.111, 2, False),
        "ml.m5.large": (0.115, 2, False),
        "ml.m5.xlarge": (0.23, 4, False),
        "ml.m5.2xlarge": (0.461, 8, False),
        "ml.m5.4xlarge": (0.922, 16, False),
        "ml.m5.12xlarge": (2.765, 48, False),
        "ml.c5.large": (0.102, 2, False),
        "ml.c5.xlarge": (0.204, 4, False),
        "ml.c5.2xlarge": (0.408, 8, False),
        "ml.c5.4xlarge": (0.816, 16, False),
        "ml.r5.large": (0.151, 2, False),
        "ml.r5.xlarge": (0.302, 4, False),
        "ml.m6g.large": (0.092, 2, False),
        "ml.m6g.xlarge": (0.184, 4, False),
        "ml.c6g.large": (0.082, 2, False),
        "ml.c6g.xlarge": (0.163, 4, False),
        "ml.c7g.large": (0.087, 2, False),
        "ml.c7g.xlarge": (0.174, 4, False),
        "ml.g4dn.xlarge": (0.736, 4, False),
        "ml.g4dn.2xlarge": (1.052, 8, False),
        "ml.g5.xlarge": (1.408, 4, False),
        "ml.g5.2xlarge": (1.515, 8, False),
        "ml.p3.2xlarge": (3.825, 8, False),
        "ml.inf1.xlarge": (0.297, 4, False),
        "ml.inf2.xlarge": (0.99, 4, False),
        "ml.inf2.8xlarge": (2.36, 32, False),
    },
    "us-west-2": {
        "ml.t2.medium": (0.056, 2, False),
        "ml.t2.large": (0.111, 2, False),
        "ml.m5.large": (0.115, 2, False),
        "ml.m5.xlarge": (0.23, 4, False),
        "ml.m5.2xlarge": (0.461, 8, False),
        "ml.m5.4xlarge": (0.922, 16, False),
        "ml.m5.12xlarge": (2.765, 48, False),
        "ml.c5.large": (0.102, 2, False),
        "ml.c5.xlarge": (0.204, 4, False),
        "ml.c5.2xlarge": (0.408, 8, False),
        "ml.c5.4xlarge": (0.816, 16, False),
        "ml.r5.large": (0.151, 2, False),
        "ml.r5.xlarge": (0.302, 4, False),
        "ml.m6g.large": (0.092, 2, False),
        "ml.m6g.xlarge": (0.184, 4, False),
        "ml.c6g.large": (0.082, 2, False),
        "ml.c6g.xlarge": (0.163, 4, False),
        "ml.c7g.large": (0.087, 2, False),
        "ml.c7g.xlarge": (0.174, 4, False),
        "ml.g4dn.xlarge": (0.736, 4, False),
        "ml.g4dn.2xlarge": (1.052, 8, False),
        "ml.g5.xlarge": (1.408, 4, False),
        "ml.g5.2xlarge": (1.515, 8, False),
        "ml.p3.2xlarge": (3.825, 8, False),
        "ml.inf1.xlarge": (0.297, 4, False),
        "ml.inf2.xlarge": (0.99, 4, False),
        "ml.inf2.8xlarge": (2.36, 32, False),
    },
}
# fmt: on
