"""The moto server, started by the rehearsal: ``python -m tools.rehearsal.moto_server QUERY ANSWER``.

Before serving, it answers the rehearsal's questions about moto's CloudFormation support
(read from the JSON file QUERY, answered into ANSWER): which resource types moto creates and
which ``Fn::GetAtt`` attributes its models give. The server imports those models anyway;
answering here spares the rehearsal importing them a second time (about 3 s).
Then it runs ``moto.server`` bound to 127.0.0.1 on a port the OS picks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def answer(query: dict[str, list[list[str]]]) -> dict[str, list[list[str]] | list[str]]:
    from moto.cloudformation.parsing import get_model_map

    models = get_model_map()

    def gives(resource_type: str, attribute: str) -> bool:
        model = models.get(resource_type)
        return (
            model is not None and hasattr(model, "get_cfn_attribute") and bool(model.has_cfn_attr(attribute))
        )

    return {
        "modeled": sorted(models),
        "answerable": [[t, a] for t, a in query.get("attributes", []) if gives(t, a)],
    }


def main(argv: list[str]) -> None:
    query, reply = (Path(p) for p in argv[:2])
    reply.write_text(json.dumps(answer(json.loads(query.read_text()))))
    from moto.server import main as serve

    serve(["-H", "127.0.0.1", "-p", "0"])


if __name__ == "__main__":
    main(sys.argv[1:])
