"""CrossGuard policy pack of eks-inferentia (a package so tests import `policy.policies`)."""
