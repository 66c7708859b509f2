"""``make cost``: a monthly estimate of each environment, from its synthesized templates.

What is counted comes from the templates in ``cdk.out`` (how many NAT gateways, endpoints,
keys, alarms, task sizes, ...); how much each is used comes from the environment's settings
and its cost assumptions (each environment's ``cost`` in ``cdk.json``, ``config/cost.py``); what a unit
costs comes from ``tools/cost/prices.json``, one dated line per price with the page it came from.

- ``cost.prices``: the price table, and the one error every gap raises (``CostError``);
- ``cost.resources``: every resource type a template may hold, and what charges for it;
- ``cost.items``: the line items, one function per service;
- ``cost.estimate``: an environment's estimate from its templates;
- ``python -m tools.cost``: the tables, largest item first.
"""
