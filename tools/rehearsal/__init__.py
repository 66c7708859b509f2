"""Deploy rehearsal: every stack of every environment onto a local AWS emulator (moto).

``make rehearse`` runs ``python -m tools.rehearsal cdk.out``. The parts:

- ``assembly``: reads the cloud assembly (stacks, environments, dependencies, assets).
- ``names`` and ``resolve``: intrinsic functions resolved to realistic values (full-length
  ARNs, generated names of the length CloudFormation gives them), offline.
- ``limits``: what AWS checks at create time and the emulator does not, each limit with
  the AWS page it comes from. Callable on synthesized templates without the emulator.
- ``emulator``, ``bootstrap``, ``adapt``, ``deploy``: the moto server, what ``cdk
  bootstrap`` creates, the emulator's gaps worked around (and reported), the stacks created.
"""
