"""IAM statement libraries: what each kind of task or function may do, statement by statement.

* ``tasks``: what any ECS task's roles need: pull its one image, write its one log group,
  read one secret (and its key only through Secrets Manager for that secret).
* ``data_access``: ``DataAccess``, the Data stack's resources that the Service stack's tasks
  use, and the exact statements the control plane and each agent get on them.
* ``keys``: a KMS key used only through named services (``kms:ViaService``), as every
  role here uses one.
* ``endpoints``: the VPC endpoints' policies (this account's principals, and on the gateway
  endpoints this account's resources): the data perimeter at the network's edge.
* ``agent_launch``: launching, watching and stopping agent tasks (the control plane), and the
  ARNs the dispatch janitor shares with it.

Statements are built here and attached where the role is made (a construct), each in a
managed policy the tests read statement by statement. The wildcards a statement needs are
acknowledged where the policy is made, or by the ``acknowledge_*`` function beside the
statements when the same bounds apply to every caller.
"""
