"""CloudFormation stacks for EKS, built with troposphere: the templates upgrader owns
(``control_plane``, ``self_managed``, ``managed``), the launch-template migration of a
node-group stack on a launch configuration (``migrate``) and what ``upgrader stacks render``
writes (``owned``).

Nothing else in the product imports troposphere. Import the submodules directly:
this package re-exports nothing, so that the twin, which deploys its stacks with the
builders, does not load the migration's planner dependencies. The user's templates are
read by :mod:`upgrader.planner.templates`.
"""
