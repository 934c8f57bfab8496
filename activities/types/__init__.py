"""Inputs and results passed between workflows and activities, by concept.

One dataclass per call, named ``<Op>Input`` / ``<Op>Result``, holding ids and
small values only (never ORM rows), so fields can be added without breaking
running workflows.  Pure data: workflows import these modules.
"""
