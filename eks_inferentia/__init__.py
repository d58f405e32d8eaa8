"""Shared, resource-free building blocks of the eks-inferentia program.

`config` (stack configuration and its validation), `instance_types` (facts about Neuron
instance types), `images` (TensorFlow Serving image references) and `contract` (the
stack outputs contract). Nothing here declares a resource or calls a cloud API.
"""
