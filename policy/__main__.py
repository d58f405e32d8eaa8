"""The eks-inferentia policy pack, as the Pulumi CLI runs it.

`pulumi preview --policy-pack policy` starts `python -u -m pulumi.policy <engine> policy` in the
virtualenv named in PulumiPolicy.yaml; that runs this file with the pack's directory first on
`sys.path`, and `PolicyPack` serves the policies over gRPC until the CLI stops it. The policies
themselves are in policies.py, which tests import without starting a server.
"""

from policies import POLICIES  # the pack's directory is on sys.path when the CLI runs it
from pulumi_policy import EnforcementLevel, PolicyPack

# Each policy sets its own level (mandatory or advisory); the pack's default only covers a policy that forgets to.
PolicyPack("eks-inferentia", policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
